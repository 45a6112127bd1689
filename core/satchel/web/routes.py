"""Names of core's routes that plugins may rely on (``before=``/``after=``, ``request.route.name``).

These names are a public contract: they stay stable across releases (docs/hooks.md lists them). A
plugin's own route names are its own business; another plugin must not position against them.
"""

STATUS = "status"
API_ROOT = "api_root"
API_USER = "api_user"
API_INDEX = "api_index"
FILE = "file"  # GET /U/I/+f/... : a stored file
SIMPLE_LIST_NOSLASH = "simple_list_noslash"
SIMPLE_LIST = "simple_list"  # GET /U/I/+simple/
SIMPLE_PROJECT_NOSLASH = "simple_project_noslash"
SIMPLE_PROJECT = "simple_project"  # GET /U/I/+simple/P/
VERSION = "version"  # GET /U/I/P/V (JSON)
INSTALLER_SIMPLE = "installer_simple"  # GET /U/I by an installer: the simple list
INSTALLER_SIMPLE_PROJECT = "installer_simple_project"  # GET /U/I/P by an installer: the simple page
PROJECT = "project"  # GET /U/I/P (JSON)
INDEX = "index"  # GET /U/I (JSON)
INDEX_CREATE = "index_create"  # PUT /U/I
INDEX_MODIFY = "index_modify"  # PATCH /U/I
INDEX_DELETE = "index_delete"  # DELETE /U/I
USER = "user"  # GET /U (JSON)
ROOT = "root"  # GET /

CORE_ROUTES = (STATUS, API_ROOT, API_USER, API_INDEX, FILE, SIMPLE_LIST_NOSLASH, SIMPLE_LIST,
               SIMPLE_PROJECT_NOSLASH, SIMPLE_PROJECT, VERSION, INSTALLER_SIMPLE, INSTALLER_SIMPLE_PROJECT,
               PROJECT, INDEX, INDEX_CREATE, INDEX_MODIFY, INDEX_DELETE, USER, ROOT)
