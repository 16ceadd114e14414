#!/bin/sh
# An entrypoint script WITHOUT exec running two apps: php-fpm in the
# background, nginx in the foreground, then waits for php-fpm too.
mkdir -p /run/php
echo "entrypoint: starting php-fpm and nginx"
php-fpm8.2 -F -y /srv/app/fpm.conf &
fpm=$!
nginx -c /srv/app/nginx.conf -g 'daemon off;'
status=$?
wait $fpm
fpm_status=$?
echo "entrypoint: nginx exited with $status, php-fpm with $fpm_status"
[ $status -ne 0 ] && exit $status
exit $fpm_status
