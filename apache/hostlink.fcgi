#!/bin/sh
# mod_fcgid wrapper for hostlink (see htaccess.fcgid).  The listening socket
# is on fd 0; hostlinkd notices and serves as a single process.
# Edit the two paths: the hostlinkd binary and its configuration file.
exec /usr/local/bin/hostlinkd -c /etc/hostlink/hostlink.conf
