#!/bin/sh
# An entrypoint script WITHOUT exec: the shell stays, the JVM is its child.
echo "entrypoint: starting java"
java -Xshare:auto -XX:TieredStopAtLevel=1 -cp /srv/app App
status=$?
echo "entrypoint: java exited with $status"
exit $status
