#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, uvicorn is its child.
cd /srv/app
echo "entrypoint: starting uvicorn"
uvicorn --host 0.0.0.0 --port 8080 --no-access-log app:app
status=$?
echo "entrypoint: uvicorn exited with $status"
exit $status
