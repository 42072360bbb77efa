{{/* Labels on every object. No helm.sh/chart or managed-by labels on purpose: the chart renders
the very objects deploy/base does, so a cluster installed either way looks the same. */}}
{{- define "pillion.labels" -}}
app.kubernetes.io/name: pillion-injector
app.kubernetes.io/component: injector
app.kubernetes.io/part-of: pillion
{{- end }}

{{- define "pillion.selectorLabels" -}}
app.kubernetes.io/name: pillion-injector
{{- end }}

{{/* Namespaces no webhook ever matches: the injector's own (so it can always restart itself)
and the system namespaces. */}}
{{- define "pillion.excludedNamespaces" -}}
{{- toJson (prepend .Values.webhook.excludedNamespaces .Release.Namespace | uniq) -}}
{{- end }}

{{/* The injector configuration file (config.yaml); injectorNamespace is the release namespace. */}}
{{- define "pillion.injectorConfig" -}}
{{- $config := deepCopy .Values.injector -}}
{{- $_ := set $config "injectorNamespace" .Release.Namespace -}}
{{- if .Values.cni.enabled }}{{ $_ := set $config "captureMode" "cni" }}{{ end -}}
{{- if not $config.kubeVersion }}{{ $_ := unset $config "kubeVersion" }}{{ end -}}
{{- toYaml $config -}}
{{- end }}

{{/* The node agent's labels (the CNI mode's DaemonSet and its RBAC). */}}
{{- define "pillion.cniLabels" -}}
app.kubernetes.io/name: pillion-cni-node
app.kubernetes.io/component: cni-node
app.kubernetes.io/part-of: pillion
{{- end }}

{{/* Host paths per cni.preset, as in cni/install/presets.ts (test/deploy checks they agree). */}}
{{- define "pillion.cniPaths" -}}
{{- $presets := dict
  "default" (dict "netDir" "/etc/cni/net.d" "binDir" "/opt/cni/bin")
  "gke" (dict "netDir" "/etc/cni/net.d" "binDir" "/home/kubernetes/bin")
  "k3s" (dict "netDir" "/var/lib/rancher/k3s/agent/etc/cni/net.d" "binDir" "/var/lib/rancher/k3s/data/cni") -}}
{{- toJson (get $presets .Values.cni.preset) -}}
{{- end }}

{{- define "pillion.selfSigned" -}}
{{- if eq .Values.tls.mode "selfSigned" }}true{{ end -}}
{{- end }}

{{/* The injector's PodDisruptionBudget is rendered: enabled, and more than one replica to keep. */}}
{{- define "pillion.pdb" -}}
{{- if and .Values.podDisruptionBudget.enabled (not (include "pillion.selfSigned" .)) (gt (int .Values.replicas) 1) }}true{{ end -}}
{{- end }}

{{- define "pillion.validate" -}}
{{- if not (has .Values.tls.mode (list "secret" "certManager" "selfSigned")) -}}
{{- fail (printf "tls.mode must be secret, certManager or selfSigned, not %q" .Values.tls.mode) -}}
{{- end -}}
{{- if not (has .Values.webhook.failurePolicy (list "Fail" "Ignore")) -}}
{{- fail (printf "webhook.failurePolicy must be Fail or Ignore, not %q" .Values.webhook.failurePolicy) -}}
{{- end -}}
{{- if not (has .Values.cni.preset (list "default" "gke" "k3s")) -}}
{{- fail (printf "cni.preset must be default, gke or k3s, not %q" .Values.cni.preset) -}}
{{- end -}}
{{- if not (has .Values.cni.repair (list "delete" "label" "off")) -}}
{{- fail (printf "cni.repair must be delete, label or off, not %q" .Values.cni.repair) -}}
{{- end -}}
{{- if or (lt (int .Values.webhook.timeoutSeconds) 1) (gt (int .Values.webhook.timeoutSeconds) 30) -}}
{{- fail "webhook.timeoutSeconds must be between 1 and 30 (the API server's limit)" -}}
{{- end -}}
{{- if include "pillion.pdb" . -}}
{{- $min := .Values.podDisruptionBudget.minAvailable -}}
{{- $all := or (and (kindIs "string" $min) (eq (toString $min) "100%")) (and (not (kindIs "string" $min)) (ge (int $min) (int .Values.replicas))) -}}
{{- if $all -}}
{{- fail (printf "podDisruptionBudget.minAvailable (%v) must be below replicas (%v): a budget that keeps every injector pod forbids evicting any, and node drains never finish" $min .Values.replicas) -}}
{{- end -}}
{{- end -}}
{{- end }}
