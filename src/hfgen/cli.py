"""`hfgen` command line: train | demo | sample | evaluate | push | card | app | space."""

from __future__ import annotations

import argparse
import json
import os
import sys

# The main job of the README: a class-conditional GAN on the embedded MNIST-5k digits, sized to
# finish in minutes on two CPU cores with no network.
DEMO_ARGS = [
    "--dataset", "mnist5k",
    "--preset", "hinge",
    "--class_conditional", "true",
    "--generator_channels", "32",
    "--discriminator_channels", "32",
    "--latent_dim", "64",
    "--train_batch_size", "64",
    "--max_train_steps", "4000",
    "--checkpointing_steps", "1000",
    "--checkpoints_total_limit", "2",
    "--sample_steps", "500",
    "--num_sample_images", "100",
    "--use_ema", "true",
    "--num_threads", "1",
]

# `hfgen demo --family ddpm`: the measured DDPM recipe of issue 14 on the same digits (a 0.64M-parameter
# UNet, cosine schedule, v-prediction, AdamW 1e-3 after 100 warm-up steps, EMA), about 20 CPU-minutes
# on one thread; evaluated with DDIM-50 (trailing spacing).
DDPM_DEMO_ARGS = [
    "--dataset", "mnist5k",
    "--block_out_channels", "16,32,64",
    "--layers_per_block", "1",
    "--beta_schedule", "squaredcos_cap_v2",
    "--prediction_type", "v_prediction",
    "--train_batch_size", "64",
    "--learning_rate", "1e-3",
    "--lr_warmup_steps", "100",
    "--max_train_steps", "3000",
    "--checkpointing_steps", "1000",
    "--checkpoints_total_limit", "2",
    "--sample_steps", "500",
    "--num_sample_images", "100",
    "--eval_scheduler", "ddim",
    "--eval_inference_steps", "50",
    "--num_threads", "1",
]


def _train(argv: list[str]) -> int:
    from hfgen.training import TASKS, main

    if not argv or argv[0] in ("-h", "--help") and len(argv) == 1:
        # The task list comes from the registry: a newly registered task shows up here by itself.
        lines = ["usage: hfgen train TASK [flags]   (`hfgen train TASK --help` lists the flags)", "", "tasks:"]
        lines += [f"  {name:<10} {spec.description}" for name, spec in sorted(TASKS.items())]
        print("\n".join(lines))
        return 0
    summary = main(argv[0], argv[1:], prog=f"hfgen train {argv[0]}")
    print(json.dumps(summary, indent=2))
    return 0


def _demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hfgen demo", description="Train the demo GAN (or DDPM) on embedded MNIST-5k digits (no network).")
    parser.add_argument("--family", default="gan", choices=("gan", "ddpm"),
                        help="gan: a class-conditional hinge GAN (default); ddpm: an unconditional DDPM exported as a stock DDPMPipeline.")
    parser.add_argument("--output_dir", default=None, help="Default: outputs/demo (gan) or outputs/demo-ddpm (ddpm).")
    parser.add_argument("--max_train_steps", type=int, default=None, help="Override the demo's step count (gan 4000, ddpm 3000).")
    args, extra = parser.parse_known_args(argv)
    if args.family == "ddpm":
        return _demo_ddpm(args, extra)
    flags = DEMO_ARGS + ["--output_dir", args.output_dir or "outputs/demo"] + extra
    if args.max_train_steps is not None:
        flags += ["--max_train_steps", str(args.max_train_steps)]
    from hfgen.training import main

    summary = main("gan", flags)
    out = summary["output_dir"]
    print(f"\nTrained in {summary['seconds']:.0f} s ({summary['steps_per_second']:.1f} steps/s).")
    print(f"Exported pipeline: {out}")
    print(f"Sample grid:       {summary.get('samples')}")
    print(f"Loss curves:       {summary.get('loss_curves')}")
    print(f"Model card:        {summary.get('model_card')}")
    metrics = summary.get("metrics") or {}
    if metrics:
        print(
            f"Evaluation:        classifier-FID {metrics['fid']:.1f}, IS {metrics['inception_score_mean']:.2f}, "
            f"classes covered {metrics['classes_covered']}/10 (eval_results.json)"
        )
    print("\nLoad it with:")
    print("    from hfgen import GANPipeline")
    print(f"    images = GANPipeline.from_pretrained({out!r})(batch_size=16, class_labels=7).images")
    print("or, where hfgen is not installed:")
    print("    from diffusers import DiffusionPipeline")
    print(f"    pipe = DiffusionPipeline.from_pretrained({out!r}, trust_remote_code=True)")
    return 0


def _demo_ddpm(args, extra: list[str]) -> int:
    """`hfgen demo --family ddpm`: trains DDPM_DEMO_ARGS, then says how to load the stock folder."""
    from hfgen.training import main

    flags = DDPM_DEMO_ARGS + ["--output_dir", args.output_dir or "outputs/demo-ddpm"] + extra
    if args.max_train_steps is not None:
        flags += ["--max_train_steps", str(args.max_train_steps)]
    summary = main("ddpm", flags)
    out = summary["output_dir"]
    print(f"\nTrained in {summary['seconds']:.0f} s ({summary['steps_per_second']:.2f} steps/s).")
    print(f"Exported pipeline: {out} (a stock diffusers DDPMPipeline folder)")
    print(f"Sample grid:       {summary.get('samples')}")
    print(f"Model card:        {summary.get('model_card')}")
    metrics = summary.get("metrics") or {}
    if metrics.get("fid") is not None:
        print(f"Evaluation:        classifier-FID {metrics['fid']:.1f} (DDIM-50), classes covered "
              f"{metrics.get('classes_covered')}/10 (eval_results.json)")
    print("\nLoad it with diffusers alone (no hfgen, no trust_remote_code):")
    print("    from diffusers import DDIMScheduler, DDPMPipeline")
    print(f"    pipe = DDPMPipeline.from_pretrained({out!r})")
    print("    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, timestep_spacing='trailing', clip_sample=False)")
    print("    images = pipe(batch_size=16, num_inference_steps=50).images")
    print(f"FID vs sampling steps: hfgen evaluate --model {out} --dataset mnist5k --scheduler ddim --steps 10,25,50,100,1000")
    return 0


def _sample(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hfgen sample", description="Sample a grid from a saved pipeline.")
    parser.add_argument("--model", required=True, help="Exported folder or Hub repository.")
    parser.add_argument("--output", default="samples.png")
    parser.add_argument("--num_images", type=int, default=64)
    parser.add_argument("--class_label", default=None,
                        help="Class id or class name (as in the training data's subfolders) for every sample; "
                             "default: drawn uniformly.")
    parser.add_argument("--prompt", action="append", default=None,
                        help="Text-to-image models: a prompt (repeat the flag for several); one row of --num_images images each.")
    parser.add_argument("--guidance_scale", type=float, default=None,
                        help="Guided text-to-image diffusion: classifier-free guidance scale (default: the pipeline's, 3).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trust_remote_code", action="store_true", help="Only needed where hfgen does not provide the model classes.")
    parser.add_argument("--input", default=None,
                        help="Image-to-image models (pix2pix, cyclegan): an image file or a folder of images to translate. A file's "
                             "translation is written to --output; a folder gives an input|output grid at --output and each "
                             "translation in the folder named like --output without its extension.")
    parser.add_argument("--direction", default=None, help="CycleGAN: a_to_b (default) or b_to_a.")
    parser.add_argument("--scheduler", default=None, choices=("ddpm", "ddim", "dpm++"),
                        help="Diffusion models: the sampler, built from the folder's scheduler config (default: the folder's own).")
    parser.add_argument("--num_inference_steps", type=int, default=None,
                        help="Diffusion models: denoising steps (default: the pipeline's, 1000 for DDPM; 50 is plenty with ddim).")
    args = parser.parse_args(argv)
    import inspect

    import torch
    from huggingface_hub.errors import EntryNotFoundError

    from hfgen.pipelines import load_pipeline
    from hfgen.training.visualize import save_image_grid, save_points_plot

    try:
        # Any hfgen folder (or a stock diffusers one): the class comes from its model_index.json.
        pipe = load_pipeline(args.model, trust_remote_code=args.trust_remote_code)
        from hfgen.evaluation.image2image import is_image_to_image

        if is_image_to_image(pipe) or args.input is not None or args.direction is not None:  # Pix2Pix, CycleGAN (--direction)
            from hfgen.evaluation.image2image import sample_translations

            print(sample_translations(pipe, args.input, args.output, num_images=args.num_images, direction=args.direction))
            return 0
        inputs = {"batch_size": args.num_images, "generator": torch.manual_seed(args.seed), "output_type": "np"}
        if getattr(pipe, "scheduler", None) is not None:  # a diffusion pipeline: sampler and steps
            from hfgen.training.ddpm import check_inference_steps, with_sampler

            pipe = with_sampler(pipe, args.scheduler)
            if args.num_inference_steps is not None:
                check_inference_steps(args.num_inference_steps, int(pipe.scheduler.config.num_train_timesteps))
                inputs["num_inference_steps"] = args.num_inference_steps
        elif args.scheduler or args.num_inference_steps is not None:
            raise ValueError(f"--scheduler and --num_inference_steps are for diffusion models; {type(pipe).__name__} has no scheduler.")
        if args.prompt or "prompt" in inspect.signature(pipe.__call__).parameters:  # text to image (hfgen.text.save_prompt_grid)
            from hfgen.text import save_prompt_grid

            if args.class_label is not None:
                raise ValueError("--class_label does not apply to a text-to-image model: the prompt is the condition; drop it.")
            if not args.prompt:
                raise ValueError(f"{type(pipe).__name__} generates from text: pass --prompt 'a red circle in the top left corner' "
                                 "(repeat --prompt for several).")
            extra = {k: v for k, v in (("num_inference_steps", inputs.get("num_inference_steps")), ("guidance_scale", args.guidance_scale))
                     if v is not None}
            print(os.path.abspath(save_prompt_grid(pipe, args.prompt, args.num_images, args.seed, args.output, call_kwargs=extra)))
            return 0
        if args.guidance_scale is not None:
            raise ValueError(f"--guidance_scale is for guided text-to-image diffusion models; {type(pipe).__name__} takes no prompt.")
        label = args.class_label
        if label is not None:
            if "class_labels" not in inspect.signature(pipe.__call__).parameters:
                raise ValueError(f"{type(pipe).__name__} is not class-conditional: do not pass --class_label.")
            # A class name first (folders may be named "10", "20"), otherwise a number is a class id.
            names = pipe._class_names() if hasattr(pipe, "_class_names") else {}
            inputs["class_labels"] = int(label) if label not in names and label.lstrip("-").isdigit() else label
        try:
            out = pipe(**inputs).images
        except ValueError as error:  # the pipeline names its arguments; this user typed flags
            message = str(error).replace("class_labels", "--class_label").replace("batch_size", "--num_images")
            raise ValueError(message) from None
        if out.ndim == 2:
            save_points_plot(out, args.output)
        else:
            save_image_grid(out, args.output, scale=max(1, min(4, 128 // out.shape[1])))
    # Expected failures (a bad folder, a missing or unreachable repo, a bad flag value, an unwritable
    # output) get one line; anything else is a bug and keeps its traceback.
    except (ValueError, OSError, EntryNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(os.path.abspath(args.output))
    return 0


def _push(argv: list[str]) -> int:
    from hfgen.hub import cli_push

    return cli_push(argv)


def _card(argv: list[str]) -> int:
    from hfgen.hub import cli_card

    return cli_card(argv)


def _app(argv: list[str]) -> int:
    from hfgen.app import cli_app

    return cli_app(argv)


def _space(argv: list[str]) -> int:
    from hfgen.app import cli_space

    return cli_space(argv)


def _evaluate(argv: list[str]) -> int:
    from hfgen.evaluation import cli_evaluate

    return cli_evaluate(argv)


COMMANDS = {"train": _train, "demo": _demo, "sample": _sample, "evaluate": _evaluate, "push": _push, "card": _card,
            "app": _app, "space": _space}


def main(argv: list[str] | None = None) -> int:
    """Dispatches `hfgen <command> ...`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: hfgen {" + ",".join(COMMANDS) + "} ...")
        print("  train TASK ...  train a model (same as `accelerate launch scripts/train_TASK.py ...`)")
        print("  demo            train the demo GAN (or --family ddpm) on embedded MNIST-5k digits and export it")
        print("  sample          write a sample grid from an exported folder or Hub repository")
        print("  evaluate        FID/KID/IS/precision-recall/coverage/modes of a model against a dataset (JSON + table)")
        print("  push DIR REPO   upload an exported folder (with its model card) to the Hub")
        print("  card DIR        (re-)render the model card README.md of an exported folder")
        print("  app MODEL       serve a Gradio demo page of a folder or Hub repo (pip install 'hfgen[app]')")
        print("  space DIR SPACE --model_repo REPO   push a Gradio Space that serves a pushed model")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
