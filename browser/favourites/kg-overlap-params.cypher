// kg: rule overlap of a technique: parameters
// Edit the values, run, then run the favourite kg-overlap.
:param technique => 'T1059.006';
:param limit => 25;
