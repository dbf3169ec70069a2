// Contract: members without a body are to be implemented; members with a body are fixed.
function AbsSpec(x: int): int { if x < 0 then -x else x }

method Abs(x: int) returns (y: int)
  ensures y == AbsSpec(x)
  ensures y >= 0
