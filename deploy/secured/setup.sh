#!/usr/bin/env bash
# Credentials, users and ACLs for docker-compose.yml's `secured` profile: Kafka over SASL_SSL with SCRAM-SHA-512,
# one principal per role, each allowed to write only its own topics (docs/SECURITY.md, "Transport security").
#
#   deploy/secured/setup.sh            generate what is missing, start kafka-secured, create users, ACLs and topics
#   deploy/secured/setup.sh --acls     print the ACLs the broker holds
#   deploy/secured/setup.sh --clean    stop the secured services and delete the generated credentials and broker data
#
# Everything generated lives in deploy/secured/generated/ (git-ignored): a throwaway CA, the broker's certificate,
# one random password per role. Nothing secret is committed; rerunning keeps existing credentials.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

gen=deploy/secured/generated
roles=(probe detector detector-only planner actuator siem topics)
compose=(docker compose --profile secured)
# Containers read their files as their own users: the Kafka image's appuser (1000), the SafeHaven image's app user
# (the .NET images' APP_UID, 1654; probe and actuator run as root).
kafka_uid=1000
app_uid=1654
host_port="${KAFKA_SECURED_HOST_PORT:-29094}"

die() { echo "setup: $*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is needed (apt-get install openssl)"
command -v docker >/dev/null || die "docker is needed"
docker compose version >/dev/null 2>&1 || die "Docker Compose v2 ('docker compose') is needed: this script uses 'up --wait'"

# Runs a command in a throwaway root container with the generated directory mounted: the files end up owned by the
# users of the containers that read them, with no sudo on the host.
as_root() { "${compose[@]}" run --rm --no-deps --user 0 --entrypoint /bin/sh -v "$PWD/$gen:/generated" kafka-secured -c "$1"; }

if [[ "${1:-}" == "--clean" ]]; then
    "${compose[@]}" rm --stop --force kafka-secured topics-secured probe-secured detector-secured actuator-secured || true
    docker volume rm "$(basename "$PWD")_kafka-secured-data" 2>/dev/null || true
    [[ -d "$gen" ]] && as_root "rm -rf /generated/*" && rmdir "$gen"
    exit 0
fi
if [[ "${1:-}" == "--acls" ]]; then
    exec "${compose[@]}" exec kafka-secured /opt/kafka/bin/kafka-acls.sh --bootstrap-server 127.0.0.1:9092 --list
fi

umask 077
mkdir -p "$gen/ca" "$gen/broker"

# 1. A throwaway CA and the broker's certificate, named for the compose network and for clients on the host.
if [[ ! -f "$gen/ca/ca.pem" ]]; then
    openssl req -x509 -newkey rsa:3072 -sha256 -days 365 -nodes -subj "/CN=SafeHaven throwaway CA" \
        -keyout "$gen/ca/ca.key" -out "$gen/ca/ca.pem" 2>/dev/null
fi
if [[ ! -f "$gen/broker/broker.p12" ]]; then
    openssl req -newkey rsa:3072 -sha256 -nodes -subj "/CN=kafka-secured" \
        -keyout "$gen/ca/broker.key" -out "$gen/ca/broker.csr" 2>/dev/null
    printf 'subjectAltName=DNS:kafka-secured,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$gen/ca/broker.ext"
    openssl x509 -req -in "$gen/ca/broker.csr" -CA "$gen/ca/ca.pem" -CAkey "$gen/ca/ca.key" -CAcreateserial \
        -days 365 -sha256 -extfile "$gen/ca/broker.ext" -out "$gen/ca/broker.pem" 2>/dev/null
    openssl rand -hex 24 > "$gen/ca/broker.p12.password"
    openssl pkcs12 -export -name kafka-secured -in "$gen/ca/broker.pem" -inkey "$gen/ca/broker.key" \
        -passout "file:$gen/ca/broker.p12.password" -out "$gen/broker/broker.p12"
    rm -f "$gen/ca/broker.key" "$gen/ca/broker.csr"
fi
if [[ ! -f "$gen/broker/server.properties" ]]; then
    store_password="$(cat "$gen/ca/broker.p12.password")"
    # A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.
    cluster_id="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=')"
    echo "$cluster_id" > "$gen/broker/cluster.id"
    cat > "$gen/broker/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
# LOCAL and CONTROLLER listen on the container's loopback only: reachable from inside the broker container, by whoever
# already owns its data. Every other client comes through SASL_SSL and authenticates with SCRAM-SHA-512.
listeners=LOCAL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,SECURED://:9094,SECURED_HOST://:29094
advertised.listeners=LOCAL://127.0.0.1:9092,SECURED://kafka-secured:9094,SECURED_HOST://localhost:${host_port}
listener.security.protocol.map=LOCAL:PLAINTEXT,CONTROLLER:PLAINTEXT,SECURED:SASL_SSL,SECURED_HOST:SASL_SSL
inter.broker.listener.name=LOCAL
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.secured.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secured_host.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=/etc/kafka/secured/broker.p12
ssl.keystore.password=${store_password}
ssl.key.password=${store_password}
ssl.enabled.protocols=TLSv1.3,TLSv1.2
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
# Only the loopback listeners yield ANONYMOUS; SASL_SSL never does.
super.users=User:ANONYMOUS
allow.everyone.if.no.acl.found=false
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=3000
log.dirs=/var/lib/kafka/data
PROPERTIES
fi

# 2. One random password per role, in the role's own directory with the CA it trusts.
for role in "${roles[@]}"; do
    mkdir -p "$gen/$role"
    [[ -f "$gen/$role/password" ]] || openssl rand -base64 32 | tr -d '\n=' > "$gen/$role/password"
    cp "$gen/ca/ca.pem" "$gen/$role/ca.pem"
done
chmod 600 "$gen"/*/password "$gen/broker/server.properties" "$gen/broker/broker.p12"
chmod 644 "$gen"/*/ca.pem
chmod 755 "$gen" "$gen"/*/
chmod 700 "$gen/ca"

# SCRAM users need their passwords in the broker container for kafka-configs: a copy there, deleted below.
mkdir -p "$gen/broker/users"
for role in "${roles[@]}"; do cp "$gen/$role/password" "$gen/broker/users/$role"; done
as_root "chown -R $kafka_uid:$kafka_uid /generated/broker && chown -R $app_uid:$app_uid /generated/detector /generated/detector-only /generated/planner /generated/siem /generated/topics && chown -R 0:0 /generated/probe /generated/actuator /generated/ca"

# 3. The broker, then the users and the ACLs through its loopback listener.
"${compose[@]}" up -d --wait kafka-secured
kexec() { "${compose[@]}" exec -T kafka-secured "$@"; }
for role in "${roles[@]}"; do
    kexec /bin/sh -c "/opt/kafka/bin/kafka-configs.sh --bootstrap-server 127.0.0.1:9092 --alter --entity-type users --entity-name $role \
        --add-config \"SCRAM-SHA-512=[iterations=8192,password=\$(cat /etc/kafka/secured/users/$role)]\" >/dev/null"
done
as_root "rm -rf /generated/broker/users"

acl() { kexec /opt/kafka/bin/kafka-acls.sh --bootstrap-server 127.0.0.1:9092 --add --force "$@" >/dev/null; }
topic() { echo "--topic safehaven.$1"; }
# probe: writes samples and its host's inventory.
acl --allow-principal User:probe --operation Write --operation Describe $(topic samples) $(topic inventory) $(topic dlq)
# detector: reads samples, writes detections; its Streamiz state lives in safehaven-detector-* topics and group.
acl --allow-principal User:detector --operation Read --operation Describe $(topic samples)
acl --allow-principal User:detector --operation Write --operation Describe $(topic detections) $(topic dlq)
acl --allow-principal User:detector --operation Read --operation Write --operation Describe --resource-pattern-type prefixed --topic safehaven-detector-
acl --allow-principal User:detector --operation Read --group safehaven-detector
# detector-only: the same detector rights and nothing else (no planner topics), for `detect` instances scaled out on
# their own (detector-only-secured). Rules are a mounted file, not a topic.
acl --allow-principal User:detector-only --operation Read --operation Describe $(topic samples)
acl --allow-principal User:detector-only --operation Write --operation Describe $(topic detections) $(topic dlq)
acl --allow-principal User:detector-only --operation Read --operation Write --operation Describe --resource-pattern-type prefixed --topic safehaven-detector-
acl --allow-principal User:detector-only --operation Read --group safehaven-detector
# planner: reads inventory, detections, results and its ledger; writes commands, the ledger and `skipped` results.
# detector-secured runs `detect --with-planner` (a planner in its process), so the detector principal holds the
# planner's rights too; detector-only does not. A standby `plan` elsewhere uses the planner principal.
for principal in User:planner User:detector; do
    acl --allow-principal "$principal" --operation Read --operation Describe $(topic inventory) $(topic detections) $(topic results) $(topic placements)
    acl --allow-principal "$principal" --operation Write --operation Describe $(topic commands) $(topic placements) $(topic results) $(topic dlq)
    acl --allow-principal "$principal" --operation Read --resource-pattern-type prefixed --group safehaven-planner
done
# actuator (host, container and hypervisor agents): reads commands, writes results and capability announcements.
acl --allow-principal User:actuator --operation Read --operation Describe $(topic commands)
acl --allow-principal User:actuator --operation Write --operation Describe $(topic results) $(topic inventory) $(topic dlq)
for prefix in safehaven-actuator- safehaven-hypervisor- safehaven-container-; do
    acl --allow-principal User:actuator --operation Read --resource-pattern-type prefixed --group "$prefix"
done
# siem: reads detections and results, writes the SIEM topic.
acl --allow-principal User:siem --operation Read --operation Describe $(topic detections) $(topic results)
acl --allow-principal User:siem --operation Write --operation Describe $(topic siem) $(topic dlq)
acl --allow-principal User:siem --operation Read --resource-pattern-type prefixed --group safehaven-siem
# topics: the one-shot provisioner may create SafeHaven's topics and nothing else.
acl --allow-principal User:topics --operation Create --operation Describe --resource-pattern-type prefixed --topic safehaven.
acl --allow-principal User:topics --operation Create --operation Describe --resource-pattern-type prefixed --topic safehaven-detector-

# 4. The topics, created by SafeHaven's own provisioner as the `topics` principal.
"${compose[@]}" run --rm topics-secured
echo "setup: done. Start the roles with:"
echo "  docker compose --profile secured up -d probe-secured detector-secured actuator-secured"
echo "  more detectors under the detector-only principal: docker compose --profile secured up -d --scale detector-only-secured=2 detector-only-secured"
