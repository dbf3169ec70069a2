-- A candidate whose proof is `native_decide`: the compiler, not the kernel, would decide it. Rejected by the token
-- rule (QED-L112); the kernel check (`#print axioms`, QED-L120) finds the same escape and would reject it on its
-- own (its finding is not repeated for a declaration the token rule already reported).

-- precond
@[reducible, simp]
def myAbs_precond (x : Int) : Prop := True

-- code
def myAbs (x : Int) (h_precond : myAbs_precond x) : Int :=
  if x < 0 then -x else x

-- postcond
@[reducible, simp]
def myAbs_postcond (x : Int) (result : Int) (h_precond : myAbs_precond x) : Prop :=
  (result = x ∨ result = -x) ∧ 0 ≤ result

-- proof
theorem myAbs_spec_satisfied (x : Int) (h_precond : myAbs_precond x) :
    myAbs_postcond x (myAbs x h_precond) h_precond := by
  native_decide
