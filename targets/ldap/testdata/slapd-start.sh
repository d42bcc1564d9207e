#!/bin/sh
# Start a throwaway OpenLDAP slapd (Debian slapd 2.5) in DIR on 127.0.0.1:PORT.
# (adapted from the project's shared testing scripts)
# usage: slapd-start.sh DIR [PORT] [SUFFIX]   -> prints PID; stop with: kill $(cat DIR/slapd.pid)
# rootdn: cn=admin,<SUFFIX>  password: secret  (also env ROOTPW)
# SLAPADD_LDIF=file: bulk-load file offline with slapadd before starting
#   (fast, but bypasses the memberof overlay: no memberOf values).
set -eu
PATH=/usr/sbin:/sbin:$PATH
DIR=$(mkdir -p "$1" && cd "$1" && pwd); PORT=${2:-3389}; SUFFIX=${3:-dc=example,dc=com}
ROOTPW=${ROOTPW:-secret}; S=/etc/ldap/schema
mkdir -p "$DIR/db"
cat > "$DIR/slapd.conf" <<EOC
include $S/core.schema
include $S/cosine.schema
include $S/inetorgperson.schema
include $S/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
moduleload memberof
pidfile $DIR/slapd.pid
argsfile $DIR/slapd.args
sizelimit unlimited
database mdb
dbnosync
maxsize 4294967296
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw $ROOTPW
directory $DIR/db
index objectClass,uid,mail,employeeNumber,member,entryUUID eq
overlay memberof
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$SUFFIX"
EOC
DC=$(echo "$SUFFIX" | sed 's/^dc=\([^,]*\).*/\1/')
cat > "$DIR/base.ldif" <<EOC
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
o: $DC
dc: $DC

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: ou=policies,$SUFFIX
objectClass: organizationalUnit
ou: policies

dn: cn=default,ou=policies,$SUFFIX
objectClass: pwdPolicy
objectClass: device
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
EOC
if [ -n "${SLAPADD_LDIF:-}" ]; then
  slapadd -q -f "$DIR/slapd.conf" -l "$DIR/base.ldif"
  slapadd -q -f "$DIR/slapd.conf" -l "$SLAPADD_LDIF"
fi
# -f: classic slapd.conf (no cn=config); -h: listen only on loopback; runs as current user
slapd -f "$DIR/slapd.conf" -h "ldap://127.0.0.1:$PORT/" -s 0
# wait for the pid file, then until it answers (the pid file can precede the listener)
for i in $(seq 100); do [ -s "$DIR/slapd.pid" ] && break; sleep 0.05; done
[ -s "$DIR/slapd.pid" ] || { echo "slapd did not start (no pid file)" >&2; exit 1; }
for i in $(seq 100); do
  ldapsearch -x -H "ldap://127.0.0.1:$PORT" -s base -b "" -LLL 1.1 >/dev/null 2>&1 && break
  kill -0 "$(cat "$DIR/slapd.pid")" 2>/dev/null || { echo "slapd exited" >&2; exit 1; }
  sleep 0.05
done
if [ -z "${SLAPADD_LDIF:-}" ]; then
  ldapadd -x -H "ldap://127.0.0.1:$PORT" -D "cn=admin,$SUFFIX" -w "$ROOTPW" -f "$DIR/base.ldif" >/dev/null
fi
cat "$DIR/slapd.pid"
