{{- define "srarena.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "srarena.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "srarena.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "srarena.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "srarena.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}{{ include "srarena.fullname" . }}{{- else -}}default{{- end -}}
{{- end -}}

{{/* The environment every srarena container shares. */}}
{{- define "srarena.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
- name: SRARENA_BASE_URL
  value: {{ .Values.baseURL | quote }}
- name: SRARENA_BLOB_STORE
  value: s3
- name: SRARENA_S3_ENDPOINT
  value: {{ .Values.objectStore.endpoint | quote }}
- name: SRARENA_S3_BUCKET
  value: {{ required "objectStore.bucket is required" .Values.objectStore.bucket | quote }}
- name: SRARENA_S3_REGION
  value: {{ .Values.objectStore.region | quote }}
- name: SRARENA_S3_PREFIX
  value: {{ .Values.objectStore.prefix | quote }}
- name: SRARENA_S3_PATH_STYLE
  value: {{ .Values.objectStore.pathStyle | quote }}
- name: SRARENA_S3_CREATE_BUCKET
  value: {{ .Values.objectStore.createBucket | quote }}
- name: SRARENA_DATA_DIR
  value: /var/lib/srarena
{{- if .Values.objectStore.existingSecret }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStore.existingSecret }}
      key: AWS_ACCESS_KEY_ID
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStore.existingSecret }}
      key: AWS_SECRET_ACCESS_KEY
{{- end }}
{{- range $k, $v := .Values.extraEnv }}
- name: {{ $k }}
  value: {{ $v | quote }}
{{- end }}
{{- end -}}
