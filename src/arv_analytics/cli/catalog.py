"""`arv-analytics company|project|content …`: the catalog from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from arv_analytics.audit import service as audit
from arv_analytics.catalog import repository, service
from arv_analytics.catalog.schemas import (
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    ContentCreate,
    ContentOut,
    ContentUpdate,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
)
from arv_analytics.cli.common import parse, print_rows, run_in_session
from arv_analytics.models import ARContent, Company, Project

company_app = typer.Typer(help="Create, list, update and (de)activate companies.")
project_app = typer.Typer(help="Create, list, update and (de)activate projects.")
content_app = typer.Typer(help="Create, list, update and (de)activate AR content.")

Slug = Annotated[str | None, typer.Option(help="URL-safe name; derived from the name if unset")]
Limit = Annotated[int, typer.Option(min=1, max=1000)]

_COMPANY_COLS = ["id", "slug", "name", "is_active"]
_PROJECT_COLS = ["id", "company_id", "slug", "name", "is_active"]
_CONTENT_COLS = ["id", "unique_id", "project_id", "company_id", "title", "is_active"]


def _of(shown: int, total: int) -> str:
    if total > repository.COUNT_CAP:
        return f"{shown} of more than {repository.COUNT_CAP}"
    return f"{shown} of {total}"


def _show_company(row: Company) -> None:
    print_rows([CompanyOut.model_validate(row)], _COMPANY_COLS)


def _show_project(row: Project) -> None:
    print_rows([ProjectOut.model_validate(row)], _PROJECT_COLS)


def _show_content(row: ARContent) -> None:
    print_rows([ContentOut.model_validate(row)], _CONTENT_COLS)


def _set_active(model: type[Company | Project | ARContent], ident: int, active: bool) -> None:
    async def go(s: AsyncSession) -> Company | Project | ARContent:
        return await service.set_active(s, model, ident, active, actor=audit.CLI)

    row = run_in_session(go)
    typer.echo(f"{model.__tablename__} {ident}: is_active={row.is_active}")


# --- companies -------------------------------------------------------------------------


@company_app.command("create")
def company_create(name: str, slug: Slug = None) -> None:
    data = parse(CompanyCreate, name=name, slug=slug)
    _show_company(run_in_session(lambda s: service.create_company(s, data)))


@company_app.command("list")
def company_list(limit: Limit = 100, offset: int = 0) -> None:
    rows, total = run_in_session(lambda s: repository.page(s, Company, limit=limit, offset=offset))
    print_rows([CompanyOut.model_validate(r) for r in rows], _COMPANY_COLS)
    typer.echo(_of(len(rows), total))


@company_app.command("update")
def company_update(
    company_id: int, name: Annotated[str | None, typer.Option()] = None, slug: Slug = None
) -> None:
    data = parse(CompanyUpdate, name=name, slug=slug)
    _show_company(
        run_in_session(lambda s: service.update_company(s, company_id, data, actor=audit.CLI))
    )


@company_app.command("deactivate")
def company_deactivate(company_id: int) -> None:
    _set_active(Company, company_id, False)


@company_app.command("activate")
def company_activate(company_id: int) -> None:
    _set_active(Company, company_id, True)


# --- projects --------------------------------------------------------------------------


@project_app.command("create")
def project_create(
    name: str, company: Annotated[int, typer.Option(help="Company id")], slug: Slug = None
) -> None:
    data = parse(ProjectCreate, company_id=company, name=name, slug=slug)
    _show_project(run_in_session(lambda s: service.create_project(s, data)))


@project_app.command("list")
def project_list(
    company: Annotated[int | None, typer.Option(help="Only this company's")] = None,
    limit: Limit = 100,
    offset: int = 0,
) -> None:
    rows, total = run_in_session(
        lambda s: repository.page(s, Project, limit=limit, offset=offset, company_id=company)
    )
    print_rows([ProjectOut.model_validate(r) for r in rows], _PROJECT_COLS)
    typer.echo(_of(len(rows), total))


@project_app.command("update")
def project_update(
    project_id: int, name: Annotated[str | None, typer.Option()] = None, slug: Slug = None
) -> None:
    data = parse(ProjectUpdate, name=name, slug=slug)
    _show_project(
        run_in_session(lambda s: service.update_project(s, project_id, data, actor=audit.CLI))
    )


@project_app.command("deactivate")
def project_deactivate(project_id: int) -> None:
    _set_active(Project, project_id, False)


@project_app.command("activate")
def project_activate(project_id: int) -> None:
    _set_active(Project, project_id, True)


# --- AR content ------------------------------------------------------------------------


@content_app.command("create")
def content_create(
    title: str,
    project: Annotated[int, typer.Option(help="Project id")],
    video_url: Annotated[str | None, typer.Option()] = None,
    marker_url: Annotated[str | None, typer.Option(help="The .mind target file")] = None,
) -> None:
    data = parse(
        ContentCreate, project_id=project, title=title, video_url=video_url, marker_url=marker_url
    )
    _show_content(run_in_session(lambda s: service.create_content(s, data)))


@content_app.command("list")
def content_list(
    project: Annotated[int | None, typer.Option(help="Only this project's")] = None,
    company: Annotated[int | None, typer.Option(help="Only this company's")] = None,
    limit: Limit = 100,
    offset: int = 0,
) -> None:
    rows, total = run_in_session(
        lambda s: repository.page(
            s, ARContent, limit=limit, offset=offset, project_id=project, company_id=company
        )
    )
    print_rows([ContentOut.model_validate(r) for r in rows], _CONTENT_COLS)
    typer.echo(_of(len(rows), total))


@content_app.command("update")
def content_update(
    content_id: int,
    title: Annotated[str | None, typer.Option()] = None,
    video_url: Annotated[str | None, typer.Option()] = None,
    marker_url: Annotated[str | None, typer.Option()] = None,
) -> None:
    fields = {"title": title, "video_url": video_url, "marker_url": marker_url}
    data = parse(ContentUpdate, **{k: v for k, v in fields.items() if v is not None})
    _show_content(
        run_in_session(lambda s: service.update_content(s, content_id, data, actor=audit.CLI))
    )


@content_app.command("deactivate")
def content_deactivate(content_id: int) -> None:
    _set_active(ARContent, content_id, False)


@content_app.command("activate")
def content_activate(content_id: int) -> None:
    _set_active(ARContent, content_id, True)
