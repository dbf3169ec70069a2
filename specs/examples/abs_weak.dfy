// An implementation of abs_weak.spec.dfy: right, but the contract would accept much less.
method Abs(x: int) returns (y: int)
  ensures y >= 0
{
  if x < 0 {
    y := -x;
  } else {
    y := x;
  }
}
