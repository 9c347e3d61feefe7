package kube

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ScaledObjectResource is KEDA's ScaledObject. It is read through the
// dynamic client so that this package does not import KEDA's API types.
var ScaledObjectResource = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// KEDA's defaults for fields a ScaledObject leaves unset.
const (
	DefaultCooldownPeriod  = 300 * time.Second
	DefaultPollingInterval = 30 * time.Second
)

// ScaledObjectInfo is what the HPA checks need from a ScaledObject.
type ScaledObjectInfo struct {
	// HPAName is spec.advanced.horizontalPodAutoscalerConfig.name, "" when
	// unset (KEDA then names the HPA keda-hpa-<ScaledObject>).
	HPAName string
	// CooldownPeriod is spec.cooldownPeriod (KEDA default 300s): how long
	// KEDA waits after the last active report before scaling to zero.
	CooldownPeriod time.Duration
	// PollingInterval is spec.pollingInterval (KEDA default 30s): how often
	// KEDA asks the scaler IsActive.
	PollingInterval time.Duration
	// Min and Max are spec.minReplicaCount and spec.maxReplicaCount, nil
	// when unset (KEDA then uses 0 and 100).
	Min, Max *int32
	// ScaleUpTolerance is the behavior.scaleUp.tolerance the ScaledObject
	// asks for, nil when unset. Compared with the HPA's it tells a user
	// whose setting was dropped on the way (a KEDA built against an older
	// k8s.io/api, or an API server with HPAConfigurableTolerance off).
	ScaleUpTolerance *float64
}

// parseScaledObject reads the fields ScaledObjectInfo carries. A field of
// the wrong type is an error naming it: the CRD's schema rejects those, so
// one here means the object is not what this package expects.
func parseScaledObject(u *unstructured.Unstructured) (*ScaledObjectInfo, error) {
	obj := u.Object
	info := &ScaledObjectInfo{CooldownPeriod: DefaultCooldownPeriod, PollingInterval: DefaultPollingInterval}
	var err error
	if info.HPAName, _, err = unstructured.NestedString(obj, "spec", "advanced", "horizontalPodAutoscalerConfig", "name"); err != nil {
		return nil, fieldErr("spec.advanced.horizontalPodAutoscalerConfig.name", err)
	}
	seconds := func(dst *time.Duration, field string) {
		if v, ok, e := unstructured.NestedInt64(obj, "spec", field); e != nil {
			err = fieldErr("spec."+field, e)
		} else if ok {
			*dst = time.Duration(v) * time.Second
		}
	}
	count := func(dst **int32, field string) {
		if v, ok, e := unstructured.NestedInt64(obj, "spec", field); e != nil {
			err = fieldErr("spec."+field, e)
		} else if ok {
			n := int32(v)
			*dst = &n
		}
	}
	seconds(&info.CooldownPeriod, "cooldownPeriod")
	seconds(&info.PollingInterval, "pollingInterval")
	count(&info.Min, "minReplicaCount")
	count(&info.Max, "maxReplicaCount")
	if err != nil {
		return nil, err
	}
	path := []string{"spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", "scaleUp", "tolerance"}
	if raw, ok, _ := unstructured.NestedFieldNoCopy(obj, path...); ok {
		t, err := quantity(raw)
		if err != nil {
			return nil, fieldErr("spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance", err)
		}
		info.ScaleUpTolerance = &t
	}
	return info, nil
}

// quantity reads a resource.Quantity field of an unstructured object, which
// JSON carries as a string ("0.05") or a bare number.
func quantity(raw any) (float64, error) {
	switch v := raw.(type) {
	case string:
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return 0, err
		}
		return q.AsApproximateFloat64(), nil
	case int64:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("%v is of type %T, not a quantity", raw, raw)
}

// fieldErr names the field; the caller wraps the result once with the
// object's name, so the inner error (unstructured's type message) is text.
func fieldErr(field string, err error) error {
	return fmt.Errorf("%s: %v", field, err)
}
