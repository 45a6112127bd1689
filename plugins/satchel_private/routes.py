"""Routes of private indexes: uploads, push, tox results, doc pages, removal and yanking."""

from satchel.web.patterns import FILE, PROJECT, UI, VERSION

from satchel_private import doczip, push, removal, toxresults, uploads, yank

DOC = UI + r"/(?P<project>[^+/]+)/(?P<version>[^/]+)/\+doc(?:/(?P<path>.*))?"


def index_post(request):
    """``POST``/``PUSH /U/I``: a multipart form is a legacy upload, anything else a push (JSON)."""
    if uploads.is_form(request):
        return uploads.upload_view(request)
    uploads.check_body_size(request)
    return push.push_view(request)


def add_routes(router):
    """Called from ``satchel_add_routes``; the route names are the private plugin's."""
    router.add("index_upload_push", UI + r"/?", index_post, methods=("POST", "PUSH"), own_transaction=True)
    router.add("file_toxresult", FILE, toxresults.toxresult_view, methods=("POST",))
    router.add("file_delete", FILE, removal.delete_file, methods=("DELETE",))
    router.add("file_yank", FILE, yank.yank_file, methods=("PATCH",))
    router.add("doc", DOC, doczip.doc_view, permission="pkg_read")
    router.add("version_delete", VERSION, removal.delete_version, methods=("DELETE",))
    router.add("version_yank", VERSION, yank.yank_version, methods=("PATCH",))
    router.add("project_delete", PROJECT, removal.delete_project, methods=("DELETE",))
