package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/accessrecon/accessrecon/cmd/accessrecon/internal/config"
	"github.com/accessrecon/accessrecon/reconcile/pgstore"
)

// k8sObject is the part of a Kubernetes object the deploy examples are
// checked on.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		JobTemplate struct {
			Spec struct {
				Template struct {
					Spec k8sPodSpec `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
	Containers                    []struct {
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		ReadinessProbe k8sProbe `yaml:"readinessProbe"`
		LivenessProbe  k8sProbe `yaml:"livenessProbe"`
		VolumeMounts   []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string `yaml:"name"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap"`
		Secret *struct {
			SecretName  string `yaml:"secretName"`
			DefaultMode int    `yaml:"defaultMode"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

// readK8s decodes every object of a Kubernetes manifest.
func readK8s(t *testing.T, file string) []k8sObject {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	var out []k8sObject
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("%s: an object without apiVersion, kind or name: %+v", file, o)
		}
		out = append(out, o)
	}
	return out
}

// Every Kubernetes example decodes, and the schedule.yaml each ConfigMap
// carries is a valid configuration.
func TestKubernetesExamplesDecode(t *testing.T) {
	files, _ := filepath.Glob("deploy/kubernetes/*.yaml")
	if len(files) < 2 {
		t.Fatalf("Kubernetes examples: %v", files)
	}
	for _, f := range files {
		for _, o := range readK8s(t, f) {
			if body, ok := o.Data["schedule.yaml"]; ok {
				if _, err := config.Parse([]byte(body), "/config/schedule.yaml"); err != nil {
					t.Errorf("%s: ConfigMap %s: schedule.yaml: %v", f, o.Metadata.Name, err)
				}
			}
		}
	}
}

// The serve example on PostgreSQL: two replicas of serve whose config names
// the store through store_file, a file of the Secret holding the URL, and
// probes on the port serve listens on.
func TestKubernetesServeOnPostgres(t *testing.T) {
	const file = "deploy/kubernetes/serve-postgres.yaml"
	objs := readK8s(t, file)
	byKind := map[string][]k8sObject{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	if len(byKind["Deployment"]) != 1 || len(byKind["ConfigMap"]) != 1 {
		t.Fatalf("%s: want one Deployment and one ConfigMap, have %v", file, byKind)
	}
	dep, cm := byKind["Deployment"][0], byKind["ConfigMap"][0]
	if r := dep.Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("Deployment %s: replicas not 2", dep.Metadata.Name)
	}
	cfg, err := config.Parse([]byte(cm.Data["schedule.yaml"]), "/config/schedule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.StoreIsPostgres() || cfg.StoreFile == "" {
		t.Fatalf("the ConfigMap's store is %q, want a PostgreSQL URL from store_file", cfg.StoreName())
	}
	if len(cfg.Jobs) == 0 || cfg.Serve.LockStale.D() == 0 {
		t.Errorf("the config has %d jobs and lock_stale %s: want jobs and an explicit lock_stale", len(cfg.Jobs), cfg.Serve.LockStale.D())
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Args) < 3 || c.Args[0] != "serve" || c.Args[1] != "--config" {
		t.Fatalf("container args %v, want serve --config FILE", c.Args)
	}
	// The config is the ConfigMap's, by its mount.
	volumes := map[string]int{}
	for i, v := range pod.Volumes {
		volumes[v.Name] = i
	}
	mountOf := func(p string) (volume string, rel string) {
		for _, m := range c.VolumeMounts {
			if r, err := filepath.Rel(m.MountPath, p); err == nil && !strings.HasPrefix(r, "..") {
				return m.Name, r
			}
		}
		t.Fatalf("%s is under no volume mount", p)
		return "", ""
	}
	if vol, rel := mountOf(c.Args[2]); pod.Volumes[volumes[vol]].ConfigMap == nil || pod.Volumes[volumes[vol]].ConfigMap.Name != cm.Metadata.Name || rel != "schedule.yaml" {
		t.Errorf("--config %s is not the ConfigMap's schedule.yaml", c.Args[2])
	}
	// store_file is a key of a Secret of this file, holding a PostgreSQL URL.
	vol, key := mountOf(cfg.StoreFile)
	sv := pod.Volumes[volumes[vol]].Secret
	if sv == nil {
		t.Fatalf("store_file %s is not on a Secret volume", cfg.StoreFile)
	}
	if sv.DefaultMode&0o044 == 0 {
		t.Errorf("Secret volume mode %04o: the non-root user (in fsGroup) cannot read it", sv.DefaultMode)
	}
	var dsn string
	for _, s := range byKind["Secret"] {
		if s.Metadata.Name == sv.SecretName {
			dsn = s.StringData[path.Base(key)]
		}
	}
	if !pgstore.IsDSN(dsn) {
		t.Errorf("Secret %s key %s holds %q, want a postgres:// URL", sv.SecretName, key, config.RedactDSN(dsn))
	}
	// Probes on the port serve listens on; time to stop within grace.
	_, port, err := net.SplitHostPort(cfg.Serve.Listen)
	if err != nil {
		t.Fatalf("serve.listen %q: %v", cfg.Serve.Listen, err)
	}
	if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != port {
		t.Errorf("container ports %+v, serve listens on %s", c.Ports, port)
	}
	for _, p := range []struct {
		probe k8sProbe
		path  string
	}{{c.ReadinessProbe, "/readyz"}, {c.LivenessProbe, "/healthz"}} {
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != c.Ports[0].Name {
			t.Errorf("probe %+v, want %s on port %s", p.probe.HTTPGet, p.path, c.Ports[0].Name)
		}
	}
	if grace := config.DurOr(cfg.Serve.Grace, 30*time.Second); time.Duration(pod.TerminationGracePeriodSeconds)*time.Second <= grace {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than serve.grace %s", pod.TerminationGracePeriodSeconds, grace)
	}
}
