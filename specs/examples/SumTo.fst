module SumTo

let rec sum_acc (i:nat) (acc:nat) : Tot (r:nat{r == acc + spec_sum i}) (decreases i) =
  if i = 0 then acc else sum_acc (i - 1) (acc + i)

let sum_to n = sum_acc n 0
