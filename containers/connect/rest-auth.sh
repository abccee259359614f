#!/usr/bin/env bash
# Writes the REST API's basic-auth login (Kafka's BasicAuthSecurityRestExtension reads it through JAAS) from
# the environment the stack sets (KDE_CONNECT_REST_USER / KDE_CONNECT_REST_PASSWORD, a generated secret), into
# files only the worker's user can read, then starts the worker as the image does. The health check logs in
# with the same login through a netrc file, so the password is never on a command line.
set -euo pipefail
: "${KDE_CONNECT_REST_USER:?the stack sets the Connect REST user}"
: "${KDE_CONNECT_REST_PASSWORD:?the stack sets the Connect REST password}"
dir=${KDE_CONNECT_AUTH_DIR:-/etc/kde-connect}  # overridden only by tests/unit/test_docker_connect_auth.py
umask 077
printf '%s: %s\n' "$KDE_CONNECT_REST_USER" "$KDE_CONNECT_REST_PASSWORD" >"$dir/rest-users.properties"
printf 'machine localhost login %s password %s\n' "$KDE_CONNECT_REST_USER" "$KDE_CONNECT_REST_PASSWORD" >"$dir/netrc"
cat >"$dir/rest-jaas.conf" <<JAAS
KafkaConnect {
  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required
  file="$dir/rest-users.properties";
};
JAAS
unset KDE_CONNECT_REST_PASSWORD
export KAFKA_OPTS="${KAFKA_OPTS:-} -Djava.security.auth.login.config=$dir/rest-jaas.conf"
exec "${KDE_CONNECT_RUN:-/etc/confluent/docker/run}"
