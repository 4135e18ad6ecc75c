"""The organisation: townships, villages, grids, police stations, rooms, centres, mediators."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base

# Township.mode
MODE_STATION = "station"  # 驻所 (urban: streets, market towns)
MODE_VILLAGE = "village"  # 住村 (rural)

# MediationRoom.kind
ROOM_STATION = "station"  # 驻所母舅调解室
ROOM_VILLAGE = "village"  # 住村母舅工作室

# GovernanceCentre.level
CENTRE_CITY = "city"
CENTRE_TOWNSHIP = "township"

# Mediator.kind
MEDIATOR_KINDS = {
    "station": "驻所母舅",
    "village": "住村母舅",
    "city_brand": "市级品牌母舅",
    "lawyer": "律师",
    "grid_worker": "网格员",
    "duty_cadre": "乡镇值班干部",
    "department": "部门轮驻/随驻人员",
}


class Township(Base):
    """乡镇 / 街道."""

    __tablename__ = "township"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # 乡 / 镇 / 街道
    mode: Mapped[str] = mapped_column(String(10))  # MODE_STATION / MODE_VILLAGE
    police_station_id: Mapped[int | None] = mapped_column(ForeignKey("police_station.id"))

    villages: Mapped[list["Village"]] = relationship(back_populates="township", order_by="Village.id")
    police_station: Mapped["PoliceStation | None"] = relationship(back_populates="townships")


class Village(Base):
    """村 / 居（社区）."""

    __tablename__ = "village"
    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(10))  # 村 / 社区

    township: Mapped[Township] = relationship(back_populates="villages")
    grids: Mapped[list["Grid"]] = relationship(back_populates="village", order_by="Grid.id")


class Grid(Base):
    """网格, with its grid worker (a Mediator of kind grid_worker)."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    grid_worker_id: Mapped[int | None] = mapped_column(ForeignKey("mediator.id"))

    village: Mapped[Village] = relationship(back_populates="grids")
    grid_worker: Mapped["Mediator | None"] = relationship(foreign_keys=[grid_worker_id])


class PoliceStation(Base):
    """派出所; covers one or more townships."""

    __tablename__ = "police_station"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")

    townships: Mapped[list[Township]] = relationship(back_populates="police_station")


class MediationRoom(Base):
    """调解室: a station's 驻所母舅调解室 or a village's 住村母舅工作室."""

    __tablename__ = "mediation_room"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # ROOM_STATION / ROOM_VILLAGE
    police_station_id: Mapped[int | None] = mapped_column(ForeignKey("police_station.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    public_phone: Mapped[str] = mapped_column(String(30), default="")

    police_station: Mapped[PoliceStation | None] = relationship()
    village: Mapped[Village | None] = relationship()
    township: Mapped[Township] = relationship()


class GovernanceCentre(Base):
    """综治中心: the city's, or a township's."""

    __tablename__ = "governance_centre"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    level: Mapped[str] = mapped_column(String(10))  # CENTRE_CITY / CENTRE_TOWNSHIP
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), unique=True)
    public_phone: Mapped[str] = mapped_column(String(30), default="")

    township: Mapped[Township | None] = relationship()


class DisputeCategory(Base):
    """纠纷类别: an admin-editable list; mediator specialties refer to its codes."""

    __tablename__ = "dispute_category"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(30), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Mediator(Base):
    """母舅 and the other people who mediate or are dispatched (lawyers, grid workers, cadres).

    A person belongs to one unit: a mediation room, a governance centre, or (duty cadres,
    department staff) a township. Never deleted once they have history: deactivate instead.
    """

    __tablename__ = "mediator"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20), index=True)  # keys of MEDIATOR_KINDS
    phone: Mapped[str] = mapped_column(String(20))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("mediation_room.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("governance_centre.id"), index=True)
    township_id: Mapped[int | None] = mapped_column(ForeignKey("township.id"), index=True)
    department: Mapped[str] = mapped_column(String(50), default="")
    specialties: Mapped[list[str]] = mapped_column(JSON, default=list)  # DisputeCategory codes
    background: Mapped[str] = mapped_column(String(50), default="")  # 五老人员 etc.
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    active_from: Mapped[dt.date | None] = mapped_column(Date)
    active_to: Mapped[dt.date | None] = mapped_column(Date)

    room: Mapped[MediationRoom | None] = relationship()
    centre: Mapped[GovernanceCentre | None] = relationship()
    township: Mapped[Township | None] = relationship()
