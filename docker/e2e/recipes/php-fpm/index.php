<?php
// /slow works 1.5 s, long enough to be in flight when the stop signal comes.
if ($_SERVER['REQUEST_URI'] === '/slow') {
    usleep(1500000);
}
header('Content-Type: text/plain');
echo "ok\n";
