"""`qed audit` for Dafny (Capability.contract_audit, `backends.audit_protocol.ContractAuditor`).

  auditor.py   the `ContractAuditor` the backend returns: wires the modules below to the protocol
  queries.py   questions about the contract alone (vacuity, examples, witnesses), verified in one Dafny run
  calls.py     example calls and values as Dafny text (hoisting, element hints, witness candidates, inputs)
  mutate.py    mutants of an implementation's executable code (the mutation operators)
  behave.py    the original and its verified mutants compiled to Python and run on the same inputs
"""
