#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, gunicorn is its child.
cd /srv/app
echo "entrypoint: starting gunicorn"
gunicorn --workers 6 --bind 0.0.0.0:8080 --graceful-timeout 20 app:app
status=$?
echo "entrypoint: gunicorn exited with $status"
exit $status
