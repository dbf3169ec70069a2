// A weak contract: any non-negative result "verifies" (see `qed audit specs/examples/abs_weak.yaml`).
method Abs(x: int) returns (y: int)
  ensures y >= 0
