// Package radius holds no connector code: RADIUS users kept by FreeRADIUS
// in SQL (rlm_sql: radcheck, radusergroup) are a recipe of the sql target,
// documented in README.md and tested here against a real FreeRADIUS server
// (the README's configuration, decoded into the sql target's Config, must
// turn the leaver's Access-Accept into Access-Reject and leave everyone
// else's alone).
package radius
