#!/bin/sh
# An entrypoint script WITHOUT exec, as many images have: the shell stays
# the container's main process and nginx is its child.
echo "entrypoint: starting nginx"
nginx -c /srv/app/nginx.conf -g 'daemon off;'
status=$?
echo "entrypoint: nginx exited with $status"
exit $status
