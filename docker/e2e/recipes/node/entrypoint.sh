#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, node is its child.
echo "entrypoint: starting node"
node /srv/app/server.js
status=$?
echo "entrypoint: node exited with $status"
exit $status
