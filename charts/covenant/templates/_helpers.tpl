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
  value: {{ printf "%s:%v" (include "covenant.serviceName" (dict "root" $root "svc" $name)) $cfg.port | quote }}
{{- end }}
{{- include "covenant.dbEnv" . }}
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
{{- if $root.Values.secrets.existingSecret }}
- name: COVENANT_DEV_SECRETS_DIR
  value: /etc/covenant/secrets
{{- end }}
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

{{/* Volumes shared by services and jobs. */}}
{{- define "covenant.volumes" -}}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- if .Values.rules.configMap }}
- name: rules
  configMap:
    name: {{ printf "%s-rules" (include "covenant.fullname" .) }}
    items:
    {{- range $path, $_ := .Files.Glob "files/rules/*/*.yaml" }}
      - key: {{ trimPrefix "files/rules/" $path | replace "/" "__" }}
        path: {{ trimPrefix "files/rules/" $path }}
    {{- end }}
{{- end }}
{{- if and (not .Values.vault.enabled) .Values.secrets.existingSecret }}
- name: secrets
  secret:
    secretName: {{ .Values.secrets.existingSecret }}
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
{{- if and (not .Values.vault.enabled) .Values.secrets.existingSecret }}
- name: secrets
  mountPath: /etc/covenant/secrets
  readOnly: true
{{- end }}
{{- end -}}
