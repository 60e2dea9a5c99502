{{/* Names, labels and the party.toml of one party's release. */}}

{{- define "ephemeral.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ephemeral.fullname" -}}
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

{{- define "ephemeral.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ephemeral.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ephemeral.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ephemeral.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
ephemeral.io/party: {{ .Values.party | quote }}
{{- end -}}

{{- define "ephemeral.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{- define "ephemeral.mpcSecret" -}}
{{- default (printf "%s-mpc" (include "ephemeral.fullname" .)) .Values.mpc.existingSecret -}}
{{- end -}}

{{- define "ephemeral.apiSecret" -}}
{{- default (printf "%s-api-tls" (include "ephemeral.fullname" .)) .Values.api.tls.existingSecret -}}
{{- end -}}

{{- define "ephemeral.tokensSecret" -}}
{{- default (printf "%s-tokens" (include "ephemeral.fullname" .)) .Values.clients.existingSecret -}}
{{- end -}}

{{/* Checks what the schema cannot: the party is listed, the insecure dealer has its seed. */}}
{{- define "ephemeral.validate" -}}
{{- $n := len .Values.parties -}}
{{- if lt $n 2 -}}
{{- fail "parties: list every party of the cloud (at least 2), in id order, this one included" -}}
{{- end -}}
{{- if ge (int .Values.party) $n -}}
{{- fail (printf "party: %d is not the id of a listed party (0..%d)" (int .Values.party) (sub $n 1)) -}}
{{- end -}}
{{- if and .Values.insecure.dealer (not .Values.insecure.dealerSeed) -}}
{{- fail "insecure.dealerSeed: required with insecure.dealer (64 hex digits, the same on every party)" -}}
{{- end -}}
{{- end -}}

{{/* The node's config file. Paths are where the StatefulSet mounts each file. */}}
{{- define "ephemeral.partyToml" -}}
{{- include "ephemeral.validate" . -}}
# Party {{ .Values.party }} of {{ len .Values.parties }}, rendered by the ephemeral Helm chart (release {{ .Release.Name }}).
party = {{ .Values.party }}

[api]
listen = "0.0.0.0:{{ .Values.api.port }}"
max_body_bytes = {{ int64 .Values.api.maxBodyBytes }}
tls_cert = "/etc/ephemeral/api/tls.crt"
tls_key = "/etc/ephemeral/api/tls.key"

[mpc]
listen = "0.0.0.0:{{ .Values.mpc.port }}"
cert = "/etc/ephemeral/mpc/tls.crt"
key = "/etc/ephemeral/mpc/tls.key"

[storage]
path = "/var/lib/ephemeral"

[timeouts]
join_secs = {{ .Values.timeouts.joinSecs }}
game_secs = {{ .Values.timeouts.gameSecs }}
recv_secs = {{ .Values.timeouts.recvSecs }}
grace_secs = {{ .Values.timeouts.graceSecs }}

[security]
min_statistical_security = {{ .Values.security.minStatisticalSecurity }}

[tuples]
check_secs = {{ .Values.tuples.checkSecs }}
{{- if .Values.tuples.parallelJobs }}
parallel_jobs = {{ .Values.tuples.parallelJobs }}
{{- end }}
{{- if .Values.insecure.dealer }}
# INSECURE (values: insecure.dealer): every tuple and MAC key follows from a shared seed.
insecure_dealer = true
insecure_dealer_seed = {{ .Values.insecure.dealerSeed | quote }}
{{- end }}
{{- range $kind, $p := .Values.tuples.pools }}

[tuples.pools.{{ $kind }}]
threshold = {{ int64 $p.threshold }}
batch = {{ int64 $p.batch }}
{{- end }}
{{- if .Values.limits }}

[limits]
{{- range $k, $v := .Values.limits }}
{{ $k }} = {{ int64 $v }}
{{- end }}
{{- end }}
{{- range .Values.clients.users }}

[[clients]]
user = {{ .name | quote }}
admin = {{ default false .admin }}
token_file = "/etc/ephemeral/tokens/{{ .name }}"
{{- end }}
{{- range $i, $p := .Values.parties }}

[[parties]]
id = {{ $i }}
api_url = {{ $p.apiUrl | quote }}
mpc_addr = {{ $p.mpcAddr | quote }}
cert = "/etc/ephemeral/config/party{{ $i }}.pem"
{{- end }}
{{ end -}}
