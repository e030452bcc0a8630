import { EcsIngressError } from '@ecs-ingress/types';

/**
 * A rendering option that would produce an unsafe or invalid NGINX file (for example a control
 * server address that is not loopback). Thrown, never logged-and-ignored: the caller passed it
 * from configuration, so failing at start-up with this message is the right outcome.
 */
export class RenderOptionError extends EcsIngressError {
  /** The option at fault, e.g. `controlListen`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super('ECS_INGRESS_RENDER_OPTION_INVALID', `${option}: ${message}`);
    this.option = option;
  }
}
