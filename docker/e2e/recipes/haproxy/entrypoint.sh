#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, haproxy is its child.
echo "entrypoint: starting haproxy"
haproxy -W -db -f /srv/app/haproxy.cfg
status=$?
echo "entrypoint: haproxy exited with $status"
exit $status
