{{/* Chart name. */}}
{{- define "covenant.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name. */}}
{{- define "covenant.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Common labels. */}}
{{- define "covenant.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "covenant.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: covenant
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels for one service; call with (dict "root" $ "svc" $name). */}}
{{- define "covenant.selectorLabels" -}}
app.kubernetes.io/name: {{ include "covenant.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .svc }}
{{- end -}}

{{- define "covenant.serviceName" -}}
{{- printf "%s-%s" (include "covenant.fullname" .root) .svc | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "covenant.image" -}}
{{- $registry := default .Values.image.registry .Values.global.imageRegistry -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry .Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* gRPC service name of a Covenant service (for health probes). */}}
{{- define "covenant.grpcService" -}}
{{- printf "covenant.%s.v1.%sService" . (title .) -}}
{{- end -}}

{{/* Environment shared by the service containers and migration jobs; (dict "root" $ "svc" $name). */}}
{{- define "covenant.env" -}}
{{- $root := .root -}}
{{- $svc := .svc -}}
- name: COVENANT_DATA_DIR
  value: /var/lib/covenant
- name: COVENANT_AUTH_MODE
  value: {{ $root.Values.auth.mode | quote }}
- name: COVENANT_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: COVENANT_LOG_SAMPLE_RATE
  value: {{ $root.Values.logSampleRate | quote }}
- name: COVENANT_GRACE_SECONDS
  value: {{ $root.Values.graceSeconds | quote }}
- name: COVENANT_RULES_DIR
  value: /etc/covenant/rules
- name: COVENANT_OTEL_EXPORTER
  value: {{ $root.Values.otel.exporter | quote }}
{{- if $root.Values.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $root.Values.otel.endpoint | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ printf "covenant-%s" $svc | quote }}
{{- with $root.Values.otel.resourceAttributes }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ include "covenant.kvList" . | quote }}
{{- end }}
{{- if $root.Values.metrics.enabled }}
- name: COVENANT_METRICS_PORT
  value: {{ $root.Values.metrics.port | quote }}
{{- end }}
{{- range $name, $cfg := $root.Values.services }}
- name: {{ printf "COVENANT_%s_TARGET" (upper $name) }}
  value: {{ include "covenant.target" (dict "root" $root "svc" $name) | quote }}
{{- end }}
{{- if hasKey $root.Values.services $svc }}{{/* the console has no database */}}
{{- include "covenant.dbEnv" . }}
{{- end }}
{{- if $root.Values.vault.enabled }}
- name: COVENANT_SECRETS_PROVIDER
  value: vault
- name: COVENANT_VAULT_KV_MOUNT
  value: {{ $root.Values.vault.kvMount | quote }}
- name: COVENANT_VAULT_KV_PREFIX
  value: {{ $root.Values.vault.kvPrefix | quote }}
- name: COVENANT_VAULT_TRANSIT_MOUNT
  value: {{ $root.Values.vault.transitMount | quote }}
- name: COVENANT_VAULT_TRANSIT_KEY
  value: {{ $root.Values.vault.transitKey | quote }}
{{- with $root.Values.vault.namespace }}
- name: VAULT_NAMESPACE
  value: {{ . | quote }}
{{- end }}
- name: COVENANT_VAULT_DB_MOUNT
  value: {{ $root.Values.vault.databaseMount | quote }}
{{- with (index $root.Values.vault.databaseRoles $svc) }}
- name: COVENANT_VAULT_DB_ROLE
  value: {{ . | quote }}
{{- end }}
{{- if eq $root.Values.vault.mode "agent" }}
- name: VAULT_ADDR
  value: "http://127.0.0.1:8200"
- name: COVENANT_VAULT_AUTH
  value: token
- name: VAULT_TOKEN_FILE
  value: /vault/secrets/token
{{- else }}
- name: VAULT_ADDR
  value: {{ $root.Values.vault.address | quote }}
- name: COVENANT_VAULT_AUTH
  value: kubernetes
- name: COVENANT_VAULT_AUTH_MOUNT
  value: {{ $root.Values.vault.authMount | quote }}
- name: COVENANT_VAULT_ROLE
  value: {{ printf "%s-%s" $root.Values.vault.rolePrefix $svc | quote }}
{{- end }}
{{- else }}
- name: COVENANT_SECRETS_PROVIDER
  value: dev
- name: COVENANT_DEV_SECRETS_DIR
  value: /etc/covenant/secrets
{{- end }}
{{- end -}}

{{/* The service's database URL: a literal from database.urls, else a key of database.existingSecret. */}}
{{- define "covenant.dbEnv" -}}
{{- if and .root.Values.vault.enabled (index .root.Values.vault.databaseRoles .svc) (not (include "covenant.hasDatabase" .)) }}
{{- fail (printf "vault.databaseRoles.%s needs the %s database URL (host and database; the role's credentials replace any in it) in database.urls.%s or database.existingSecret" .svc .svc .svc) }}
{{- end }}
{{- $url := index .root.Values.database.urls .svc | default "" }}
{{- if $url }}
- name: {{ printf "COVENANT_%s_DB_URL" (upper .svc) }}
  value: {{ $url | quote }}
{{- else if .root.Values.database.existingSecret }}
- name: {{ printf "COVENANT_%s_DB_URL" (upper .svc) }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.database.existingSecret }}
      key: {{ printf "%s-db-url" .svc }}
{{- end }}
{{- end -}}

{{/* True ("true") when the service has an external database configured (else it falls back to SQLite). */}}
{{- define "covenant.hasDatabase" -}}
{{- if or (index .root.Values.database.urls .svc) .root.Values.database.existingSecret }}true{{ end -}}
{{- end -}}

{{/* The Secret holding dev-secrets.json (no Vault): secrets.existingSecret, else the one the chart generates. */}}
{{- define "covenant.devSecretName" -}}
{{- .Values.secrets.existingSecret | default (printf "%s-secrets" (include "covenant.fullname" .)) -}}
{{- end -}}

{{/* True ("true") when the service runs scaled: an HPA (autoscaling.enabled, default: when it has a database). */}}
{{- define "covenant.autoscaled" -}}
{{- $cfg := index .root.Values.services .svc -}}
{{- if kindIs "invalid" $cfg.autoscaling.enabled -}}{{ include "covenant.hasDatabase" . }}
{{- else if $cfg.autoscaling.enabled -}}true{{- end -}}
{{- end -}}

{{/* The Deployment's replica count (replicaCount, default: 2 with a database, 1 without). */}}
{{- define "covenant.replicas" -}}
{{- $cfg := index .root.Values.services .svc -}}
{{- if not (kindIs "invalid" $cfg.replicaCount) -}}{{ $cfg.replicaCount }}
{{- else if include "covenant.hasDatabase" . -}}2
{{- else -}}1{{- end -}}
{{- end -}}

{{/* Refuse to render what cannot run correctly: several pods of a service each with its own SQLite file. */}}
{{- define "covenant.validate" -}}
{{- if not (include "covenant.hasDatabase" .) }}
{{- if or (gt (int (include "covenant.replicas" .)) 1) (include "covenant.autoscaled" .) }}
{{- fail (printf "services.%s: more than one replica (replicaCount > 1 or autoscaling.enabled) needs a shared database: set database.urls.%s or database.existingSecret, or leave services.%s.replicaCount and services.%s.autoscaling.enabled unset (one replica with SQLite on a PersistentVolumeClaim)" .svc .svc .svc .svc) }}
{{- end }}
{{- end }}
{{- end -}}

{{/* "k1=v1,k2=v2" from a map, keys sorted. */}}
{{- define "covenant.kvList" -}}
{{- $pairs := list -}}
{{- range $k, $v := . }}{{ $pairs = append $pairs (printf "%s=%s" $k $v) }}{{ end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Vault Agent Injector annotations (agent mode only). */}}
{{- define "covenant.vaultAnnotations" -}}
{{- if and .root.Values.vault.enabled (eq .root.Values.vault.mode "agent") }}
vault.hashicorp.com/agent-inject: "true"
vault.hashicorp.com/agent-inject-token: "true"
vault.hashicorp.com/agent-cache-enable: "true"
vault.hashicorp.com/auth-path: {{ printf "auth/%s" .root.Values.vault.authMount | quote }}
vault.hashicorp.com/role: {{ printf "%s-%s" .root.Values.vault.rolePrefix .svc | quote }}
{{- end }}
{{- end -}}

{{/* A service pod's volumes; (dict "root" $ "svc" $name). Without a database, data is the service's PVC. */}}
{{- define "covenant.volumes" -}}
{{- $root := .root -}}
- name: data
{{- if include "covenant.hasDatabase" . }}
  emptyDir: {}
{{- else }}
  persistentVolumeClaim:
    claimName: {{ printf "%s-data" (include "covenant.serviceName" .) }}
{{- end }}
- name: tmp
  emptyDir: {}
{{- if $root.Values.rules.configMap }}
- name: rules
  configMap:
    name: {{ printf "%s-rules" (include "covenant.fullname" $root) }}
    items:
    {{- range $path, $_ := $root.Files.Glob "files/rules/*/*.yaml" }}
      - key: {{ trimPrefix "files/rules/" $path | replace "/" "__" }}
        path: {{ trimPrefix "files/rules/" $path }}
    {{- end }}
{{- end }}
{{- if not $root.Values.vault.enabled }}
- name: secrets
  secret:
    secretName: {{ include "covenant.devSecretName" $root }}
{{- end }}
{{- end -}}

{{- define "covenant.volumeMounts" -}}
- name: data
  mountPath: /var/lib/covenant
- name: tmp
  mountPath: /tmp
{{- if .Values.rules.configMap }}
- name: rules
  mountPath: /etc/covenant/rules
  readOnly: true
{{- end }}
{{- if not .Values.vault.enabled }}
- name: secrets
  mountPath: /etc/covenant/secrets
  readOnly: true
{{- end }}
{{- end -}}

{{/* Headless Service of one service (every ready pod's address); (dict "root" $ "svc" $name). */}}
{{- define "covenant.headlessName" -}}
{{- printf "%s-headless" (include "covenant.serviceName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Cluster DNS name of the headless Service. */}}
{{- define "covenant.headlessHost" -}}
{{- printf "%s.%s.svc.%s" (include "covenant.headlessName" .) .root.Release.Namespace .root.Values.wire.clusterDomain -}}
{{- end -}}

{{/* Where callers reach a service: every replica through DNS (round_robin in the channel). */}}
{{- define "covenant.target" -}}
{{- printf "dns:///%s:%v" (include "covenant.headlessHost" .) (index .root.Values.services .svc).port -}}
{{- end -}}

{{/* SPIFFE ID of a service's pods (its ServiceAccount). */}}
{{- define "covenant.spiffeId" -}}
{{- printf "spiffe://%s/ns/%s/sa/%s" .root.Values.tls.trustDomain .root.Release.Namespace (include "covenant.serviceName" .) -}}
{{- end -}}

{{/* DNS names a service's certificate carries (headless and ClusterIP Service names), one per line. */}}
{{- define "covenant.tlsDnsNames" -}}
{{- $ns := .root.Release.Namespace -}}
{{- $domain := .root.Values.wire.clusterDomain -}}
{{- range $name := list (include "covenant.headlessName" .) (include "covenant.serviceName" .) }}
{{ $name }}
{{ printf "%s.%s" $name $ns }}
{{ printf "%s.%s.svc" $name $ns }}
{{ printf "%s.%s.svc.%s" $name $ns $domain }}
{{- end }}
{{- end -}}

{{/* Directory of the TLS files in the container. */}}
{{- define "covenant.tlsDir" -}}
{{- if eq .Values.tls.source "vault" }}/vault/secrets{{ else }}/etc/covenant/tls{{ end -}}
{{- end -}}

{{/* Secret holding a service's certificate (certManager and existingSecret sources). */}}
{{- define "covenant.tlsSecretName" -}}
{{- if eq .root.Values.tls.source "existingSecret" -}}
{{- printf .root.Values.tls.existingSecret.nameTemplate .svc -}}
{{- else -}}
{{- printf "%s-tls" (include "covenant.serviceName" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Fails the render on inconsistent TLS settings. */}}
{{- define "covenant.tlsCheck" -}}
{{- if and .Values.tls.enabled (eq .Values.tls.source "vault") (not (and .Values.vault.enabled (eq .Values.vault.mode "agent"))) }}
{{- fail "tls.source=vault issues certificates through the Vault Agent: set vault.enabled=true and vault.mode=agent" }}
{{- end }}
{{- if and .Values.tls.enabled (eq .Values.tls.source "certManager") (not .Values.tls.certManager.createIssuer) (not .Values.tls.certManager.issuerRef.name) }}
{{- fail "tls.source=certManager needs tls.certManager.createIssuer=true or tls.certManager.issuerRef.name" }}
{{- end }}
{{- end -}}

{{/* Wire and TLS environment of a service container; (dict "root" $ "svc" $name). */}}
{{- define "covenant.wireEnv" -}}
{{- $root := .root -}}
{{- $w := $root.Values.wire -}}
- name: COVENANT_MAX_CONNECTION_AGE_SECONDS
  value: {{ $w.maxConnectionAgeSeconds | quote }}
- name: COVENANT_KEEPALIVE_SECONDS
  value: {{ $w.keepaliveSeconds | quote }}
- name: COVENANT_DNS_REFRESH_SECONDS
  value: {{ $w.dnsRefreshSeconds | quote }}
- name: COVENANT_RETRY_ATTEMPTS
  value: {{ $w.retryAttempts | quote }}
{{- range $kind, $seconds := $w.timeouts }}
- name: {{ printf "COVENANT_TIMEOUT_%s_SECONDS" (upper $kind) }}
  value: {{ $seconds | quote }}
{{- end }}
{{- if $root.Values.tls.enabled }}
{{- $dir := include "covenant.tlsDir" $root }}
- name: COVENANT_TLS_MODE
  value: {{ $root.Values.tls.mode | quote }}
- name: COVENANT_TLS_CERT_FILE
  value: {{ printf "%s/tls.crt" $dir | quote }}
- name: COVENANT_TLS_KEY_FILE
  value: {{ printf "%s/tls.key" $dir | quote }}
- name: COVENANT_TLS_CA_FILE
  value: {{ printf "%s/ca.crt" $dir | quote }}
- name: COVENANT_TLS_TRUST_DOMAIN
  value: {{ $root.Values.tls.trustDomain | quote }}
{{- if hasKey $root.Values.services .svc }}{{/* a gRPC server; the console is a client only */}}
{{- $peers := list (include "covenant.spiffeId" .) }}{{/* itself: e.g. identity fetches its own JWKS */}}
{{- range $caller := (index $root.Values.services .svc).callers }}
{{- if (index $root.Values.services $caller).enabled }}
{{- $peers = append $peers (include "covenant.spiffeId" (dict "root" $root "svc" $caller)) }}
{{- end }}
{{- end }}
{{- if $root.Values.console.enabled }}{{/* the console calls every service with its users' tokens */}}
{{- $peers = append $peers (include "covenant.spiffeId" (dict "root" $root "svc" "console")) }}
{{- end }}
{{- $peers = concat $peers $root.Values.tls.allowedPeers }}
- name: COVENANT_TLS_ALLOWED_PEERS
  value: {{ join "," $peers | quote }}
- name: COVENANT_HEALTH_LISTEN
  value: {{ printf "0.0.0.0:%v" $root.Values.tls.healthPort | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Vault Agent templates issuing the service's certificate from Vault PKI (tls.source=vault). The three
files come from one identical `secret` call, which the agent fetches once, so they always match. */}}
{{- define "covenant.tlsVaultAnnotations" -}}
{{- $root := .root -}}
{{- if and $root.Values.tls.enabled (eq $root.Values.tls.source "vault") }}
{{- $v := $root.Values.tls.vault }}
{{- $path := printf "%s/issue/%s" $v.pkiMount $v.role }}
{{- $names := include "covenant.tlsDnsNames" . | trim | splitList "\n" }}
{{- $call := printf "secret %q %q %q %q %q" $path (printf "common_name=%s" (include "covenant.headlessHost" .)) (printf "alt_names=%s" (join "," $names)) (printf "uri_sans=%s" (include "covenant.spiffeId" .)) (printf "ttl=%s" $v.ttl) }}
{{- range $file, $field := dict "tls.crt" "certificate" "tls.key" "private_key" "ca.crt" "issuing_ca" }}
{{ printf "vault.hashicorp.com/agent-inject-secret-%s" $file }}: {{ $path | quote }}
{{ printf "vault.hashicorp.com/agent-inject-template-%s" $file }}: {{ printf "{{- with %s -}}{{ .Data.%s }}{{- end -}}" $call $field | quote }}
{{- end }}
{{- end }}
{{- end -}}
