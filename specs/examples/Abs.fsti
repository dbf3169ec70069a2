(* Contract of the F* `abs` task: an interface. `spec_abs` is fixed; `abs` is to be implemented. *)
module Abs

let spec_abs (x:int) : int = if x < 0 then -x else x

val abs (x:int) : y:int{y == spec_abs x /\ y >= 0}
