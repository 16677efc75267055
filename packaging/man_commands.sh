#!/usr/bin/env bash
# Writes help2man's --include file for authsvc's man page: a COMMANDS
# section with every subcommand's own --help (found by walking the
# "Subcommands:" lists, so a new command is in the page without an edit
# here), then ENVIRONMENT, FILES and SEE ALSO.
#   man_commands.sh AUTHSVC_BINARY > authsvc.h2m
set -euo pipefail
binary=$1

# The help text as roff that prints as it reads: backslashes and hyphens
# escaped (a man page's "-" may render as a typographic hyphen, which does
# not paste into a shell), and a leading dot or quote kept from being a
# request.
as_roff() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

subcommands_of() {
  "$binary" "$@" --help | awk '
    /^Subcommands:/ { listing = 1; next }
    listing && /^  [a-z]/ { print $1; next }
    listing && !/^  / { listing = 0 }'
}

describe() {
  local sub
  for sub in $(subcommands_of "$@"); do
    printf '.SS "authsvc %s"\n' "$(echo "$* $sub" | sed -e 's/^ //' -e 's/-/\\-/g')"
    printf '.nf\n'
    "$binary" "$@" "$sub" --help | as_roff
    printf '.fi\n'
    describe "$@" "$sub"
  done
}

printf '[COMMANDS]\n'
printf 'Each command takes \\fB\\-\\-help\\fR. What each one prints:\n'
describe

cat <<'EOF'
[ENVIRONMENT]
.TP
.B AUTHSVC_DB
The SQLite database when \fB\-\-db\fR is not given (then \fI./authsvc.db\fR).
The packaged units name theirs in \fI/etc/authsvc/authsvc.toml\fR.

[FILES]
.TP
.I /etc/authsvc/authsvc.toml
The options of \fBserve\fR, \fBguardian\fR and \fBweb\fR, read by their
systemd units (\fBauthsvc.service\fR, \fBauthsvc\-guardian.service\fR,
\fBauthsvc\-web.service\fR). Every key is in
\fI/usr/share/doc/authsvc/examples/authsvc.toml.example\fR.
.TP
.I /var/lib/authsvc/authsvc.db
The database: accounts, token hashes, owners, the change log. Run the CLI as
the \fBauthsvc\fR user on it (\fBsudo \-u authsvc authsvc \-\-db
/var/lib/authsvc/authsvc.db user list\fR), so that the files it creates
stay the service's.
.TP
.I /var/log/authsvc/*.log
The audit logs, one JSON line per decision or action, rotated by
\fI/etc/logrotate.d/authsvc\fR; query them with \fBauthsvc audit\fR.
.TP
.I /usr/share/doc/authsvc/examples/
The example configuration: the broker's \fIrabbitmq.conf.example\fR, the
default rules \fIpulse.rules\fR (built into the binary), a Grafana dashboard
and Prometheus alerts.

[SEE ALSO]
.BR rabbitmqctl (8),
.BR systemctl (1),
.BR logrotate (8)
EOF
