(* F* 2025 accepts this with exit 0 even under --report_assumes error (an `assume val` is reported to pass);
   qed rejects it. *)
module Abs

assume val magic_abs (x:int) : y:int{y == spec_abs x /\ y >= 0}

let abs x = magic_abs x
