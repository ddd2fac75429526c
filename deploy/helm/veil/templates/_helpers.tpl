{{- define "veil.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- define "veil.brokerUrl" -}}
{{- if .Values.broker.url -}}{{ .Values.broker.url }}{{- else -}}https://veil-broker.{{ .Release.Namespace }}.svc:8443/{{- end -}}
{{- end -}}
