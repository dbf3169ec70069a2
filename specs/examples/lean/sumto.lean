-- A reference proof for `sumto.program.lean`.

def sumTo : Nat → Nat
  | 0 => 0
  | n + 1 => sumTo n + (n + 1)

theorem sumTo_ge (n : Nat) : n ≤ sumTo n := by
  induction n with
  | zero => exact Nat.zero_le _
  | succ k ih =>
    simp only [sumTo]
    omega
