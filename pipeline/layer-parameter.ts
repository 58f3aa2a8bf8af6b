import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';

export interface LayerParameterArgs {
  /** Full, stack-scoped parameter name (see parameterNamesFor). */
  name: string;
  value: pulumi.Input<string>;
  description: string;
}

/** A plain String parameter that a handler reads at run time. */
export function layerParameter(logicalName: string, args: LayerParameterArgs, parent: pulumi.Resource): aws.ssm.Parameter {
  return new aws.ssm.Parameter(logicalName, { name: args.name, type: 'String', value: args.value, description: args.description }, { parent });
}
