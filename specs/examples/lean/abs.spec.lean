-- The contract of task `lean_abs` (implement mode), in Verina's sections: the precondition and postcondition
-- are fixed; the code (`myAbs`) and the proof (`myAbs_spec_satisfied`) are to be filled (their `sorry`).

-- precond
@[reducible, simp]
def myAbs_precond (x : Int) : Prop := True

-- code
def myAbs (x : Int) (h_precond : myAbs_precond x) : Int :=
  sorry

-- postcond
@[reducible, simp]
def myAbs_postcond (x : Int) (result : Int) (h_precond : myAbs_precond x) : Prop :=
  (result = x ∨ result = -x) ∧ 0 ≤ result

-- proof
theorem myAbs_spec_satisfied (x : Int) (h_precond : myAbs_precond x) :
    myAbs_postcond x (myAbs x h_precond) h_precond := by
  sorry
