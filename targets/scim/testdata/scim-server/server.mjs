// Throwaway in-memory SCIM 2.0 server built from npm scimmy + scimmy-routers + express.
// env: PORT (8880) SEED (users to pre-create, 1000) SCIM_USER/SCIM_PASS (scim/secret)
// Copied from ../shared/testing/scim-server for the accessrecon scim connector tests, with:
//  - the enterprise User extension declared (seeded users carry employeeNumber E<n>);
//  - the read-only User "groups" attribute computed from Group members on read (RFC 7643 4.1.2),
//    and never stored from a write;
//  - three seeded groups: "Everyone" (all seeded users), "Admins" (u00001, u00002), "Empty".
import express from "express";
import crypto from "node:crypto";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const PORT = +(process.env.PORT ?? 8880), SEED = +(process.env.SEED ?? 1000);
const AUTH = "Basic " + Buffer.from(`${process.env.SCIM_USER ?? "scim"}:${process.env.SCIM_PASS ?? "secret"}`).toString("base64");
const db = {User: new Map(), Group: new Map()};
const now = () => new Date().toISOString();

function store(kind) {
  const m = db[kind];
  // groups is read-only and derived from Group.members; users only (and only on read).
  const withGroups = (r) => kind !== "User" ? r : {...r, groups: [...db.Group.values()]
    .filter(g => (g.members ?? []).some(mb => mb.value === r.id))
    .map(g => ({value: g.id, display: g.displayName, type: "direct"}))};
  return {
    egress: (res) => {
      if (res.id) { const r = m.get(res.id); if (!r) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`); return withGroups(r); }
      const all = [...m.values()].map(withGroups), hit = res.filter ? res.filter.match(all) : all;
      // Pre-page here (SCIMMY otherwise coerces every match on every page: ~3 s/page at 10k users).
      // ListResponse takes totalResults from constraints and only re-slices when 1 < startIndex <= count.
      const c = res.constraints, si = c?.startIndex ?? 1, n = c?.count ?? 20;
      if (!c?.sortBy && (si === 1 || si > n)) { if (c) c.totalResults = hit.length; else res.constraints = {totalResults: hit.length};
        return hit.slice(si - 1, si - 1 + n); }
      return hit;
    },
    ingress: (res, inst) => {
      const data = JSON.parse(JSON.stringify(inst));
      if (kind === "User") delete data.groups;
      if (res.id) {
        const old = m.get(res.id); if (!old) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`);
        const upd = {...data, id: res.id, meta: {...old.meta, lastModified: now()}}; m.set(res.id, upd); return upd;
      }
      if (kind === "User" && [...m.values()].some(u => u.userName === data.userName))
        throw new SCIMMY.Types.Error(409, "uniqueness", `userName ${data.userName} already exists`);
      const id = crypto.randomUUID(), t = now(), rec = {...data, id, meta: {created: t, lastModified: t}};
      m.set(id, rec); return rec;
    },
    degress: (res) => { if (!m.delete(res.id)) throw new SCIMMY.Types.Error(404, null, `Resource ${res.id} not found`); },
  };
}
SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false);
for (const kind of ["User", "Group"]) {
  const s = store(kind);
  SCIMMY.Resources.declare(SCIMMY.Resources[kind]).ingress(s.ingress).egress(s.egress).degress(s.degress);
}
for (let i = 1; i <= SEED; i++) {
  const n = String(i).padStart(5, "0"), id = crypto.randomUUID(), t = now();
  db.User.set(id, {id, userName: `u${n}`, externalId: `E${n}`, active: true, name: {givenName: "User", familyName: `Number${i}`},
    displayName: `User ${i}`, emails: [{value: `u${n}@example.com`, type: "work", primary: true}], meta: {created: t, lastModified: t},
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {employeeNumber: `E${n}`}});
}
{
  const users = [...db.User.values()], t = now();
  for (const [name, members] of [["Everyone", users], ["Admins", users.slice(0, 2)], ["Empty", []]]) {
    const id = crypto.randomUUID();
    db.Group.set(id, {id, displayName: name, members: members.map(u => ({value: u.id, display: u.userName})), meta: {created: t, lastModified: t}});
  }
}
const app = express();
app.use("/scim/v2", new SCIMMYRouters({
  type: "basic",
  handler: (req) => { if (req.header("Authorization") !== AUTH) throw new Error("Authorization failed"); return "scim"; },
}));
app.listen(PORT, "127.0.0.1", () => console.log(`SCIM on http://127.0.0.1:${PORT}/scim/v2 (${SEED} users) pid ${process.pid}`));
