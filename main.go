// Command dc-data-baker is the Pulumi program that deploys the baked layers.
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() {
	pulumi.Run(program)
}
