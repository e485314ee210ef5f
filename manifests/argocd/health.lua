-- Argo CD health of a netpol-profiles catalog object (NetworkProfile, SharedService,
-- NetworkBaseline), from the status the operator writes: Healthy when Ready=True for the current
-- generation, Degraded when Ready=False (reason Invalid: the operator refuses the object and keeps
-- what it generated before), Progressing until the operator has seen the current generation.
-- Lua 5.1 (Argo CD's gopher-lua); tested with Debian's lua5.1 by test/unit/argocd-health.test.ts.
local hs = {}
local status = obj.status
local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local ready = nil
if status ~= nil and status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the netpol-profiles operator to validate it (no Ready condition yet)"
  return hs
end
local observed = status.observedGeneration
if observed == nil then
  observed = ready.observedGeneration
end
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the netpol-profiles operator to validate generation " .. tostring(generation)
  if observed ~= nil then
    hs.message = hs.message .. " (it has validated generation " .. tostring(observed) .. ")"
  end
  return hs
end
local message = ready.message
if message == nil then
  message = ""
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = message
elseif ready.status == "False" then
  hs.status = "Degraded"
  local reason = ready.reason
  if reason == nil then
    reason = "NotReady"
  end
  hs.message = reason .. ": " .. message
else
  hs.status = "Progressing"
  hs.message = "Ready is " .. tostring(ready.status) .. ": " .. message
end
return hs
