// kg: rules behind an indicator: parameters
// Edit the values, run, then run the favourite kg-value.
:param field => 'process.name';
:param op => 'eq';
:param value => 'python.exe';
:param limit => 50;
