(* Contract of the F* `sum_to` task: the sum 0 + 1 + ... + n, specified by a recursive definition. *)
module SumTo

let rec spec_sum (n:nat) : Tot nat (decreases n) = if n = 0 then 0 else n + spec_sum (n - 1)

val sum_to (n:nat) : r:nat{r == spec_sum n}
