"""`harness push`: upload a fine-tuned model folder to the Hugging Face Hub with huggingface_hub.

Only the final model travels (config, weights, tokenizer, adapter, model card, training.json and its
log); the checkpoints (``checkpoint-N/``, with pickled optimizer states) and temporary files stay home.
"""

from __future__ import annotations

from pathlib import Path

import click

from harness.errors import HarnessError

IGNORED = ["checkpoint-*", ".*", "finetune_run.json"]
"""Never uploaded: checkpoints, hidden temporary or set-aside folders, the local run fingerprint."""


def check_model_folder(folder: Path) -> None:
    """A folder `harness finetune` finished: its final model and training.json are there."""
    if not folder.is_dir():
        raise HarnessError(f"{folder} is not a folder: give the --out folder of a finished `harness finetune`")
    for name in ("config.json", "training.json"):
        if not (folder / name).is_file():
            raise HarnessError(f"{folder} has no {name}: push the --out folder of a finished `harness finetune`")


def push_folder(folder: Path, repo_id: str, *, private: bool, revision: str | None, message: str) -> str:
    """Create the repository if needed and upload the folder; returns the commit URL."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalTokenNotFoundError, OfflineModeIsEnabled

    if constants.HF_HUB_OFFLINE:
        raise HarnessError("harness push needs the network, but HF_HUB_OFFLINE is set: unset it, log in with "
                           "`hf auth login`, and push again")
    api = HfApi()
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, revision=revision, commit_message=message,
                                 ignore_patterns=IGNORED)
    except OfflineModeIsEnabled:
        raise HarnessError("harness push needs the network, but HF_HUB_OFFLINE is set: unset it and push "
                           "again") from None
    except LocalTokenNotFoundError:
        raise HarnessError("no Hugging Face token: log in with `hf auth login` (or set HF_TOKEN) and push "
                           "again") from None
    except HFValidationError as exc:
        raise HarnessError(f"--repo-id '{repo_id}' is not a valid Hub repository id (USER/NAME): "
                           f"{str(exc).splitlines()[0]}") from None
    except HfHubHTTPError as exc:
        raise HarnessError(f"the Hub refused the push to {repo_id}: {str(exc).splitlines()[0]}") from None
    except (ConnectionError, OSError) as exc:
        raise HarnessError(f"could not reach the Hugging Face Hub to push {repo_id} ({type(exc).__name__}): "
                           f"check the network and push again") from None
    return str(getattr(info, "commit_url", info))


@click.command("push")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--repo-id", required=True, help="Hub repository, USER/NAME (created if it does not exist).")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--revision", default=None, help="Branch to push to (default: main).")
@click.option("--message", default="Upload a model fine-tuned with med3d-harness", show_default=True,
              help="Commit message.")
def push_command(folder: Path, repo_id: str, private: bool, revision: str | None, message: str) -> None:
    """Upload a fine-tuned model folder (the --out of `harness finetune`) to the Hugging Face Hub.

    \b
    Examples:
      hf auth login
      harness push runs/demo-ft --repo-id me/demo-ft --private
    """
    check_model_folder(folder)
    url = push_folder(folder, repo_id, private=private, revision=revision, message=message)
    click.echo(f"pushed {folder} to {repo_id}: {url}")


COMMANDS = [push_command]
