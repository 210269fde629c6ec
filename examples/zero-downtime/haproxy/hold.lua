-- While no server of the backend is up (the action is switching or restoring the database), a
-- request waits here, up to max_ms, instead of getting an error; `show holds` on the runtime API
-- tells the action how many waited, the longest wait and how many were refused after the bound.
local held, longest, refused = 0, 0, 0

core.register_action("hold", { "http-req" }, function(txn, backend, max_ms)
  local max, waited = tonumber(max_ms) or 30000, 0
  while txn.f:nbsrv(backend) == 0 and waited < max do
    core.msleep(100)
    waited = waited + 100
  end
  if waited > 0 then
    held = held + 1
    if waited > longest then longest = waited end
    if txn.f:nbsrv(backend) == 0 then refused = refused + 1 end
  end
end, 2)

core.register_cli({ "show", "holds" }, "show holds : requests held while no server was up", function(applet)
  applet:send(string.format("held=%d longest_ms=%d refused=%d\n", held, longest, refused))
end)

core.register_cli({ "clear", "holds" }, "clear holds : start the hold counters again", function(applet)
  held, longest, refused = 0, 0, 0
  applet:send("cleared\n")
end)
