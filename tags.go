package main

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var stringMapInput = reflect.TypeOf((*pulumi.StringMapInput)(nil)).Elem()

// tagEverything returns a stack transformation that adds tags to every
// resource whose arguments have a Tags map, keeping tags a resource sets
// itself unless they clash with ours.
func tagEverything(tags map[string]string) pulumi.ResourceTransformation {
	return func(args *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		field, ok := tagsField(args.Props)
		if !ok {
			return nil
		}
		merged := pulumi.StringMap{}
		if existing, ok := field.Interface().(pulumi.StringMap); ok {
			for k, v := range existing {
				merged[k] = v
			}
		} else if !field.IsNil() {
			return nil // an Output we cannot merge at preview time; leave it be
		}
		for k, v := range tags {
			merged[k] = pulumi.String(v)
		}
		field.Set(reflect.ValueOf(merged))
		return &pulumi.ResourceTransformationResult{Props: args.Props, Opts: args.Opts}
	}
}

// tagsField finds the settable Tags field of a resource's Args struct.
func tagsField(props pulumi.Input) (reflect.Value, bool) {
	if props == nil {
		return reflect.Value{}, false
	}
	v := reflect.ValueOf(props)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName("Tags")
	if !f.IsValid() || !f.CanSet() || f.Type() != stringMapInput {
		return reflect.Value{}, false
	}
	return f, true
}
