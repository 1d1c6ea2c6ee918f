"""Users, as admins manage them and as staff see each other."""

from chalicelib.schemas.auth import UserOut
from chalicelib.schemas.users import StaffUserOut, UserListQuery, UserOrStaffEnvelope, UserPage, UserUpdateRequest
from chalicelib.services import users
from chalicelib.storage.records import UserQuery

from .http import Routes, render, render_page

routes = Routes(tag="users", auth="required")


@routes.get("/users", returns=UserPage, errors=(403,))
def list_users(call, params: UserListQuery):
    """Users newest first, by role, state and name or email prefix (admin)"""
    query = UserQuery(role=params.role, active=params.active, q=params.q)
    page = users.list_users(call.context(), query, limit=params.limit, cursor=params.cursor)
    return render_page(UserOut, page)


@routes.get("/users/{user_id}", returns=UserOrStaffEnvelope, errors=(404,))
def get_user(call, user_id):
    """One user: the whole account for admins, name and role of staff for staff"""
    user = users.get_user(call.context(), user_id)
    return {"user": render(UserOut if call.who.is_admin else StaffUserOut, user)}


@routes.patch("/users/{user_id}", returns=UserOrStaffEnvelope, errors=(403, 404, 409))
def update_user(call, user_id, body: UserUpdateRequest):
    """Change a user's role or active state (admin); deactivating signs every session out"""
    return {"user": render(UserOut, users.update_user(call.context(), user_id, body.changes()))}
