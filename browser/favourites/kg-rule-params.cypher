// kg: a rule's neighbourhood: parameters
// Edit the values, run, then run the favourite kg-rule.
:param rule => 'sigma:50a0aa3d-ab16-4594-a8aa-5145a6e6792b';
:param limit => 15;
