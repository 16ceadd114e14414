#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, httpd is its child.
mkdir -p /run/apache2 /var/lock/apache2
rm -f /run/apache2/httpd.pid
echo "entrypoint: starting httpd"
apache2 -f /srv/app/httpd.conf -D FOREGROUND
status=$?
echo "entrypoint: httpd exited with $status"
exit $status
