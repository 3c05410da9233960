foreach inputs as $l ({};
  .line = $l
  | if $l.e == "decided" and $l.ctx then .line = ($l + .ctx[$l.ctx | tostring] | del(.ctx)) else . end
  | if $l.e == "submit-intent" and ($l.m | not) then .line += .chosen[$l.j] else . end
  | if $l.e == "accepted" and ($l.p | not) then .line.p = .submitted[$l.j] else . end
  | if $l.e == "decided" and $l.pol then .ctx[$l.n | tostring] = ($l | {r, pol, pd, td} | with_entries(select(.value != null))) else . end
  | if $l.e == "decided" and $l.m then .chosen[$l.j] = {p: $l.p, m: $l.m, res: $l.res}
    elif $l.e == "decided" or $l.e == "submit-intent" then del(.chosen[$l.j]) else . end
  | if $l.e == "submit-intent" then .submitted[$l.j] = .line.p elif $l.j then del(.submitted[$l.j]) else . end;
  .line)
