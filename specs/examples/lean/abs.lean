-- A reference solution of `abs.spec.lean`.

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
  unfold myAbs_postcond myAbs
  split <;> omega
