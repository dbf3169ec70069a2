-- The program of task `lean_sumto` (annotate mode): the code is given and frozen; only the proof is to be
-- written (its `sorry`), with any helper lemmas it needs.

def sumTo : Nat → Nat
  | 0 => 0
  | n + 1 => sumTo n + (n + 1)

theorem sumTo_ge (n : Nat) : n ≤ sumTo n := by
  sorry
